import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { describe, test } from 'node:test';
import { fromClientConfig } from '../../src/config/client-config-import.js';
import { parseConfigText } from '../../src/config/index.js';
import { GatehouseError } from '../../src/core/index.js';
import {
  SERVER_JSON_SCHEMA_URL,
  checkStdioRegistration,
  DEFAULT_ALLOWED_COMMANDS,
  fromServerJson,
  gatewayClientConfig,
  serverSchema,
  toClientConfig,
  toServerJson,
  type ClientFlavour,
  type ServerSpec,
} from '../../src/registry/index.js';

const fixtures = new URL('../fixtures/imports/', import.meta.url);

async function fixtureText(path: string): Promise<string> {
  return readFile(new URL(path, fixtures), 'utf8');
}

async function fixtureJson(path: string): Promise<Record<string, unknown>> {
  return JSON.parse(await fixtureText(path)) as Record<string, unknown>;
}

function spec(input: Record<string, unknown>): ServerSpec {
  return serverSchema.parse(input);
}

function assertInvalidBody(run: () => unknown, message: RegExp): void {
  assert.throws(run, (error: unknown) => {
    assert.ok(error instanceof GatehouseError);
    assert.equal(error.code, 'invalid_body');
    assert.match(error.message, message);
    return true;
  });
}

describe('server.json import: the registry\'s own examples', () => {
  test('an npm package becomes npx -y <identifier>@<version> with its arguments, and a required secret becomes a named placeholder', async () => {
    const imported = fromServerJson(await fixtureJson('server-json/with-package.json'));
    assert.equal(imported.name, 'local-weather');
    assert.deepEqual(imported.spec, {
      transport: 'stdio',
      command: 'npx',
      args: ['-y', '@modelcontextprotocol/server-weather@1.0.0', '--port', '8080'],
      env: { API_KEY: '${API_KEY}' },
      description: 'Local MCP server distributed as an npm package.',
      tags: ['version-1.0.0'],
    });
    assert.ok(imported.warnings.some((warning) => /API_KEY/.test(warning) && /\$\{API_KEY\}/.test(warning) && /secret/.test(warning)));
    // The optional positional with only a valueHint has no value to insert: it is left out, and said so.
    assert.ok(imported.warnings.some((warning) => /packageArguments\[0\] \(config_path\) is optional.*left out/.test(warning)));
  });

  test('a remote becomes an HTTP server with its URL variables filled from their defaults and required headers as placeholders', async () => {
    const imported = fromServerJson(await fixtureJson('server-json/with-remote.json'));
    assert.equal(imported.name, 'remote-weather');
    assert.deepEqual(imported.spec, {
      transport: 'streamable-http',
      url: 'https://api.example.com/mcp',
      headers: { Authorization: '${AUTHORIZATION}' },
      title: 'Remote Weather',
      description: 'Remote MCP server reachable over streamable HTTP.',
      tags: ['version-2.1.0'],
    });
    assert.ok(imported.warnings.some((warning) => /Authorization/.test(warning) && /AUTHORIZATION/.test(warning)));
  });

  test('a pypi package becomes uvx <identifier>@<version>; defaults fill optional variables', async () => {
    const imported = fromServerJson(await fixtureJson('server-json/weather-pypi.json'));
    assert.equal(imported.name, 'weather-mcp');
    assert.equal(imported.spec.transport, 'stdio');
    assert.ok(imported.spec.transport === 'stdio');
    assert.equal(imported.spec.command, 'uvx');
    assert.deepEqual(imported.spec.args, ['weather-mcp-server@0.5.0']);
    assert.deepEqual(imported.spec.env, { WEATHER_API_KEY: '${WEATHER_API_KEY}', WEATHER_UNITS: 'celsius' });
    assert.equal(imported.spec.title, 'Weather');
  });

  test('the first runnable package is used unless packageIndex picks another; an oci image runs under docker run -i --rm', async () => {
    const document = await fixtureJson('server-json/filesystem-multiple-packages.json');
    const npm = fromServerJson(document);
    assert.ok(npm.spec.transport === 'stdio');
    assert.deepEqual(npm.spec.args, ['-y', '@modelcontextprotocol/server-filesystem@1.0.2', '/Users/username/Desktop']);
    assert.deepEqual(npm.spec.env, { LOG_LEVEL: 'info' });

    const oci = fromServerJson(document, { packageIndex: 1 });
    assert.ok(oci.spec.transport === 'stdio');
    assert.equal(oci.spec.command, 'docker');
    assert.deepEqual(oci.spec.args, [
      'run', '-i', '--rm', '-e', 'LOG_LEVEL', '--mount', 'type=bind,src=${SOURCE_PATH},dst=/project', 'docker.io/mcp/filesystem:1.0.2', '/project',
    ]);
    assert.ok(oci.warnings.some((warning) => /\{source_path\}/.test(warning) && /SOURCE_PATH/.test(warning)));
    // Importing describes the server; registering it is still subject to the command policy.
    const docker = oci.spec;
    assert.throws(
      () => checkStdioRegistration({ command: docker.command, args: docker.args, env: docker.env }, { allowedCommands: DEFAULT_ALLOWED_COMMANDS }),
      /bind-mounts|binds a host path/,
    );
  });

  test('the remote is chosen when there is one (Streamable HTTP before SSE) unless preferRemote is false', async () => {
    const document = await fixtureJson('server-json/hybrid.json');
    const remote = fromServerJson(document);
    assert.deepEqual(remote.spec, {
      transport: 'streamable-http',
      url: 'https://mcp.anonymous.modelcontextprotocol.io/http',
      headers: { 'X-API-Key': '${X_API_KEY}', 'X-Region': 'us-east-1' },
      title: 'Hybrid',
      description: 'MCP server available as both local package and remote service',
      tags: ['version-1.5.0'],
    });
    const local = fromServerJson(document, { preferRemote: false });
    assert.ok(local.spec.transport === 'stdio');
    assert.deepEqual(local.spec.args, ['-y', '@example/hybrid-mcp-server@1.5.0', '--mode', 'local']);
    assert.equal(fromServerJson(document, { packageIndex: 0 }).spec.transport, 'stdio');
    assert.equal(fromServerJson(document, { packageIndex: 0, preferRemote: true }).spec.transport, 'streamable-http');
  });

  test('reads the registry API\'s {server, _meta} answer as the server.json it wraps', async () => {
    const server = await fixtureJson('server-json/brave-search.json');
    const imported = fromServerJson({ server, _meta: { 'io.modelcontextprotocol.registry/official': { status: 'active' } } });
    assert.equal(imported.name, 'brave-search');
    assert.ok(imported.spec.transport === 'stdio');
    assert.deepEqual(imported.spec.args, ['-y', '@modelcontextprotocol/server-brave-search@1.0.2']);
    assert.deepEqual(imported.spec.env, { BRAVE_API_KEY: '${BRAVE_API_KEY}' });
  });
});

describe('server.json import: names, values and refusals', () => {
  const minimal = { $schema: SERVER_JSON_SCHEMA_URL, name: 'io.github.owner/weather', description: 'Weather', version: '1.0.0' };
  const npmPackage = { registryType: 'npm', identifier: 'weather-mcp', version: '1.0.0', transport: { type: 'stdio' } };

  test('the gateway name is the sanitized part after the "/"', () => {
    const name = (registryName: string): string => fromServerJson({ ...minimal, name: registryName, packages: [npmPackage] }).name;
    assert.equal(name('io.github.owner/weather'), 'weather');
    assert.equal(name('com.example/weather.v2'), 'weather-v2');
    assert.equal(name('com.example/..hidden__name.'), 'hidden_name');
    assert.equal(name(`com.example/${'a'.repeat(100)}`), 'a'.repeat(63));
  });

  test('{placeholders} in values are filled from variables, or become ${VAR} placeholders named in a warning', () => {
    const imported = fromServerJson({
      ...minimal,
      packages: [
        {
          ...npmPackage,
          packageArguments: [{ type: 'named', name: '--db', value: 'postgres://{user}@{host}/app', variables: { user: { isRequired: true }, host: { default: 'localhost' } } }],
          environmentVariables: [
            { name: 'TOKEN', value: 'Bearer {token}', variables: { token: { isSecret: true } } },
            { name: 'LITERAL', value: 'keeps {unknown} braces' },
            { name: 'OPTIONAL_WITHOUT_DEFAULT' },
          ],
        },
      ],
    });
    assert.ok(imported.spec.transport === 'stdio');
    assert.deepEqual(imported.spec.args, ['-y', 'weather-mcp@1.0.0', '--db', 'postgres://${USER}@localhost/app']);
    assert.deepEqual(imported.spec.env, { TOKEN: 'Bearer ${TOKEN}', LITERAL: 'keeps {unknown} braces' });
    assert.ok(imported.warnings.some((warning) => /\{user\}/.test(warning) && /USER/.test(warning)));
    assert.ok(imported.warnings.some((warning) => /\{token\}/.test(warning) && /secret/.test(warning)));
  });

  test('an oci identifier without a tag takes the package version; a non-default registry host is prefixed', () => {
    const imported = fromServerJson({
      ...minimal,
      packages: [{ registryType: 'oci', registryBaseUrl: 'https://ghcr.io', identifier: 'owner/weather', version: '1.0.0', transport: { type: 'stdio' } }],
    });
    assert.ok(imported.spec.transport === 'stdio');
    assert.deepEqual(imported.spec.args, ['run', '-i', '--rm', 'ghcr.io/owner/weather:1.0.0']);
  });

  test('refuses unsupported package types, naming the field', () => {
    assertInvalidBody(
      () => fromServerJson({ ...minimal, packages: [{ registryType: 'nuget', identifier: 'Knapcode.SampleMcpServer', version: '0.5.0', transport: { type: 'stdio' } }] }),
      /packages\[0\]\.registryType "nuget" is not supported/,
    );
    assertInvalidBody(
      () => fromServerJson({ ...minimal, packages: [{ ...npmPackage, transport: { type: 'streamable-http', url: 'http://localhost:8080/mcp' } }] }),
      /packages\[0\]\.transport\.type is "streamable-http"/,
    );
    assertInvalidBody(
      () => fromServerJson({ ...minimal, packages: [{ ...npmPackage, registryBaseUrl: 'https://npm.internal.example' }] }),
      /packages\[0\]\.registryBaseUrl .* private registry/,
    );
    assertInvalidBody(() => fromServerJson({ ...minimal, packages: [{ ...npmPackage, identifier: '-c' }] }), /packages\[0\]\.identifier "-c" is not an npm package name/);
    assertInvalidBody(() => fromServerJson({ ...minimal, packages: [npmPackage] }, { packageIndex: 3 }), /packageIndex 3 is out of range/);
  });

  test('refuses documents missing required fields, naming them', () => {
    assertInvalidBody(() => fromServerJson({ description: 'x', version: '1', packages: [npmPackage] }), /name:/);
    assertInvalidBody(() => fromServerJson({ ...minimal, name: 'weather' }), /name: a server.json name is reverse-DNS/);
    assertInvalidBody(() => fromServerJson({ ...minimal, packages: [{ registryType: 'npm', identifier: 'x', version: '1' }] }), /packages\.0\.transport/);
    assertInvalidBody(() => fromServerJson({ ...minimal, remotes: [{ type: 'websocket', url: 'wss://x' }] }), /remotes\.0\.type/);
    assertInvalidBody(() => fromServerJson(minimal), /neither remotes nor packages/);
    assertInvalidBody(() => fromServerJson('not an object'), /server\.json is not valid/);
  });

  test('refuses a remote URL whose variable has no value, and the pre-camelCase format', () => {
    assertInvalidBody(
      () => fromServerJson({ ...minimal, remotes: [{ type: 'streamable-http', url: 'https://{tenant_id}.example.com/mcp', variables: { tenant_id: { isRequired: true } } }] }),
      /remotes\[0\]\.url needs \{tenant_id\}/,
    );
    assertInvalidBody(
      () =>
        fromServerJson({
          $schema: 'https://static.modelcontextprotocol.io/schemas/2025-07-09/server.schema.json',
          name: 'io.modelcontextprotocol/brave-search',
          description: 'x',
          version_detail: { version: '1.0.2' },
          packages: [{ registry_type: 'npm', identifier: '@modelcontextprotocol/server-brave-search', version: '1.0.2' }],
        }),
      /snake_case format of schema 2025-07-09/,
    );
  });

  test('an unknown schema date is read with the current rules and a warning', () => {
    const imported = fromServerJson({ ...minimal, $schema: 'https://static.modelcontextprotocol.io/schemas/2026-06-01/server.schema.json', packages: [npmPackage] });
    assert.ok(imported.warnings.some((warning) => /2026-06-01 is not a version Gatehouse knows/.test(warning)));
  });
});

describe('server.json export', () => {
  test('an HTTP server becomes a remote, with header names but never their values', () => {
    const document = toServerJson('search', spec({ url: 'https://search.example.com/mcp', headers: { Authorization: 'Bearer s3cret' }, title: 'Search', tags: ['version-2.0.0'] }));
    assert.deepEqual(document, {
      $schema: SERVER_JSON_SCHEMA_URL,
      name: 'local.gatehouse/search',
      title: 'Search',
      description: 'Search',
      version: '2.0.0',
      remotes: [{ type: 'streamable-http', url: 'https://search.example.com/mcp', headers: [{ name: 'Authorization', isRequired: true, isSecret: true }] }],
    });
    assert.doesNotMatch(JSON.stringify(document), /s3cret/);
  });

  test('npx, uvx and docker servers become npm, pypi and oci packages', () => {
    const npm = toServerJson('fs', spec({ command: 'npx', args: ['-y', '@modelcontextprotocol/server-filesystem@2025.8.21', '/srv'], env: { LOG_LEVEL: 'debug', API_TOKEN: 'x' }, owner: 'io.github.acme' }));
    assert.equal(npm.name, 'io.github.acme/fs');
    assert.equal(npm.version, '2025.8.21');
    assert.deepEqual(npm.packages, [
      {
        registryType: 'npm',
        registryBaseUrl: 'https://registry.npmjs.org',
        identifier: '@modelcontextprotocol/server-filesystem',
        version: '2025.8.21',
        runtimeHint: 'npx',
        transport: { type: 'stdio' },
        packageArguments: [{ type: 'positional', value: '/srv' }],
        environmentVariables: [
          { name: 'LOG_LEVEL', isRequired: true, isSecret: false },
          { name: 'API_TOKEN', isRequired: true, isSecret: true },
        ],
      },
    ]);
    const pypi = toServerJson('fetch', spec({ command: 'uvx', args: ['mcp-server-fetch==2025.4.7', '--ignore-robots-txt'] }));
    assert.deepEqual((pypi.packages as unknown[])[0], {
      registryType: 'pypi',
      registryBaseUrl: 'https://pypi.org',
      identifier: 'mcp-server-fetch',
      version: '2025.4.7',
      runtimeHint: 'uvx',
      transport: { type: 'stdio' },
      packageArguments: [{ type: 'positional', value: '--ignore-robots-txt' }],
    });
    const oci = toServerJson('gh', spec({ command: 'docker', args: ['run', '-i', '--rm', '-e', 'GITHUB_TOKEN', '--memory=512m', 'ghcr.io/github/github-mcp-server:v1', 'stdio'], env: { GITHUB_TOKEN: 'x' } }));
    assert.deepEqual((oci.packages as unknown[])[0], {
      registryType: 'oci',
      identifier: 'ghcr.io/github/github-mcp-server:v1',
      runtimeHint: 'docker',
      transport: { type: 'stdio' },
      runtimeArguments: [{ type: 'positional', value: '--memory=512m' }],
      packageArguments: [{ type: 'positional', value: 'stdio' }],
      environmentVariables: [{ name: 'GITHUB_TOKEN', isRequired: true, isSecret: true }],
    });
  });

  test('an exported server imports back to the same command, with env values as placeholders', () => {
    const original = spec({ command: 'npx', args: ['-y', 'weather-mcp@1.2.3', '--units', 'metric'], env: { WEATHER_KEY: 'x' }, tags: ['version-1.2.3'], description: 'Weather' });
    const imported = fromServerJson(toServerJson('weather', original));
    assert.equal(imported.name, 'weather');
    assert.deepEqual(imported.spec, { transport: 'stdio', command: 'npx', args: ['-y', 'weather-mcp@1.2.3', '--units', 'metric'], env: { WEATHER_KEY: '${WEATHER_KEY}' }, description: 'Weather', tags: ['version-1.2.3'] });
    const docker = spec({ command: 'docker', args: ['run', '-i', '--rm', '-e', 'TOKEN', '--network', 'none', 'mcp/fetch:1', 'serve'], env: { TOKEN: 'x' } });
    const back = fromServerJson(toServerJson('fetch', docker)).spec;
    assert.ok(back.transport === 'stdio');
    assert.deepEqual(back.args, docker.transport === 'stdio' ? docker.args : []);
  });

  test('refuses what server.json cannot express', () => {
    assertInvalidBody(() => toServerJson('local', spec({ command: 'node', args: ['/srv/server.js'] })), /cannot express `node \/srv\/server\.js`/);
    assertInvalidBody(() => toServerJson('x', spec({ command: 'npx', args: ['-p', 'a', 'b'] })), /cannot express .* no npx options/);
    assertInvalidBody(() => toServerJson('x', spec({ command: 'docker', args: ['compose', 'up'] })), /only `docker run`/);
  });
});

describe('client config export', () => {
  const servers: Record<string, ServerSpec> = {
    files: spec({ command: 'npx', args: ['-y', '@modelcontextprotocol/server-filesystem', '/srv'], env: { LOG_LEVEL: 'info' } }),
    fetch: spec({ command: 'uvx', args: ['mcp-server-fetch'] }),
    search: spec({ url: 'https://search.example.com/mcp', headers: { Authorization: 'Bearer t0ken' } }),
    legacy: spec({ url: 'https://legacy.example.com/sse', transport: 'sse' }),
    off: spec({ command: 'npx', args: ['-y', 'x'], enabled: false }),
  };

  test('Claude Desktop gets stdio entries, and HTTP servers through the mcp-remote bridge with header values in env', () => {
    assert.deepEqual(toClientConfig(servers, 'claude'), {
      mcpServers: {
        files: { command: 'npx', args: ['-y', '@modelcontextprotocol/server-filesystem', '/srv'], env: { LOG_LEVEL: 'info' } },
        fetch: { command: 'uvx', args: ['mcp-server-fetch'] },
        search: {
          command: 'npx',
          args: ['-y', 'mcp-remote', 'https://search.example.com/mcp', '--transport', 'http-only', '--header', 'Authorization:${AUTHORIZATION_HEADER}'],
          env: { AUTHORIZATION_HEADER: 'Bearer t0ken' },
        },
        legacy: { command: 'npx', args: ['-y', 'mcp-remote', 'https://legacy.example.com/sse', '--transport', 'sse-only'] },
      },
    });
  });

  test('Cursor gets url entries, VS Code typed entries; disabled servers are left out', () => {
    assert.deepEqual(toClientConfig(servers, 'cursor'), {
      mcpServers: {
        files: { command: 'npx', args: ['-y', '@modelcontextprotocol/server-filesystem', '/srv'], env: { LOG_LEVEL: 'info' } },
        fetch: { command: 'uvx', args: ['mcp-server-fetch'] },
        search: { url: 'https://search.example.com/mcp', headers: { Authorization: 'Bearer t0ken' } },
        legacy: { type: 'sse', url: 'https://legacy.example.com/sse' },
      },
    });
    assert.deepEqual(toClientConfig(servers, 'vscode'), {
      servers: {
        files: { type: 'stdio', command: 'npx', args: ['-y', '@modelcontextprotocol/server-filesystem', '/srv'], env: { LOG_LEVEL: 'info' } },
        fetch: { type: 'stdio', command: 'uvx', args: ['mcp-server-fetch'] },
        search: { type: 'http', url: 'https://search.example.com/mcp', headers: { Authorization: 'Bearer t0ken' } },
        legacy: { type: 'sse', url: 'https://legacy.example.com/sse' },
      },
    });
  });

  for (const flavour of ['claude', 'cursor', 'vscode'] as const satisfies readonly ClientFlavour[]) {
    test(`export then import round-trips for ${flavour}`, () => {
      // Claude Desktop's file holds stdio servers only, so its HTTP servers come back as the bridge.
      const roundTripped = flavour === 'claude' ? { files: servers.files, fetch: servers.fetch } : { files: servers.files, fetch: servers.fetch, search: servers.search, legacy: servers.legacy };
      const exported = toClientConfig(roundTripped as Record<string, ServerSpec>, flavour);
      const imported = fromClientConfig(JSON.parse(JSON.stringify(exported)) as Record<string, unknown>).servers as Record<string, unknown>;
      const parsed = Object.fromEntries(Object.entries(imported).map(([name, entry]) => [name, serverSchema.parse(entry)]));
      assert.deepEqual(parsed, roundTripped);
      // The config loader reads the exported file as it reads the client's own.
      assert.deepEqual(parseConfigText(JSON.stringify(exported), `${flavour}.json`, {}).servers, roundTripped);
    });
  }

  test('the claude bridge imports back as the stdio server it is', () => {
    const exported = toClientConfig({ legacy: servers.legacy as ServerSpec }, 'claude');
    const back = parseConfigText(JSON.stringify(exported), 'claude.json', {}).servers.legacy;
    assert.ok(back?.transport === 'stdio');
    assert.deepEqual(back.args, ['-y', 'mcp-remote', 'https://legacy.example.com/sse', '--transport', 'sse-only']);
  });

  test('mcp-remote gets --allow-http for plain http beyond loopback', () => {
    const exported = toClientConfig({ lan: spec({ url: 'http://10.0.0.5:8080/mcp' }), local: spec({ url: 'http://127.0.0.1:8080/mcp' }) }, 'claude') as { mcpServers: Record<string, { args: string[] }> };
    assert.ok(exported.mcpServers.lan?.args.includes('--allow-http'));
    assert.ok(!exported.mcpServers.local?.args.includes('--allow-http'));
  });

  test('gateway endpoints: HTTP entries for Cursor and VS Code, the mcp-remote bridge for Claude Desktop', () => {
    const endpoints = [{ name: 'github', url: 'http://127.0.0.1:8080/servers/github/mcp' }, { name: 'all', url: 'https://gw.example.com/mcp', headers: { Authorization: 'Bearer gw' } }];
    assert.deepEqual(gatewayClientConfig(endpoints, 'cursor'), {
      mcpServers: { github: { url: 'http://127.0.0.1:8080/servers/github/mcp' }, all: { url: 'https://gw.example.com/mcp', headers: { Authorization: 'Bearer gw' } } },
    });
    assert.deepEqual(gatewayClientConfig(endpoints, 'vscode'), {
      servers: {
        github: { type: 'http', url: 'http://127.0.0.1:8080/servers/github/mcp' },
        all: { type: 'http', url: 'https://gw.example.com/mcp', headers: { Authorization: 'Bearer gw' } },
      },
    });
    assert.deepEqual(gatewayClientConfig(endpoints, 'claude'), {
      mcpServers: {
        github: { command: 'npx', args: ['-y', 'mcp-remote', 'http://127.0.0.1:8080/servers/github/mcp', '--transport', 'http-only'] },
        all: {
          command: 'npx',
          args: ['-y', 'mcp-remote', 'https://gw.example.com/mcp', '--transport', 'http-only', '--header', 'Authorization:${AUTHORIZATION_HEADER}'],
          env: { AUTHORIZATION_HEADER: 'Bearer gw' },
        },
      },
    });
  });
});

describe('client config samples from the clients\' docs', () => {
  test('claude_desktop_config.json imports and exports back unchanged', async () => {
    const text = await fixtureText('claude_desktop_config.json');
    const config = parseConfigText(text, 'claude_desktop_config.json', {});
    assert.equal(config.servers.filesystem?.transport, 'stdio');
    assert.deepEqual(toClientConfig(config.servers, 'claude'), JSON.parse(text));
  });

  test('.cursor/mcp.json imports (keeping ${env:...} for Cursor) and exports back unchanged', async () => {
    const text = await fixtureText('.cursor/mcp.json');
    const config = parseConfigText(text, '.cursor/mcp.json', {});
    assert.equal(config.servers['remote-server']?.transport, 'streamable-http');
    assert.deepEqual(toClientConfig(config.servers, 'cursor'), JSON.parse(text));
  });

  test('.vscode/mcp.json imports, and its export re-imports to the same servers', async () => {
    const text = await fixtureText('.vscode/mcp.json');
    const config = parseConfigText(text, '.vscode/mcp.json', {});
    assert.equal(config.servers.context7?.transport, 'streamable-http');
    assert.equal(config.servers.memory?.transport, 'stdio');
    const exported = toClientConfig(config.servers, 'vscode');
    assert.deepEqual(parseConfigText(JSON.stringify(exported), 'mcp.json', {}).servers, config.servers);
    assert.deepEqual((exported.servers as Record<string, unknown>).perplexity, (JSON.parse(text) as { servers: Record<string, unknown> }).servers.perplexity);
  });

  test('every server.json sample imports', async () => {
    for (const file of ['with-package.json', 'with-remote.json', 'brave-search.json', 'filesystem-multiple-packages.json', 'weather-pypi.json', 'hybrid.json']) {
      const imported = fromServerJson(await fixtureJson(`server-json/${file}`));
      assert.doesNotThrow(() => serverSchema.parse(imported.spec), file);
    }
  });
});
