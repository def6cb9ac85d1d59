import assert from 'node:assert/strict';
import { readFile, readdir } from 'node:fs/promises';
import { describe, test } from 'node:test';
import { configJsonSchemaText, loadConfigFile, parseConfigText } from '../../src/config/index.js';

describe('config loading', () => {
  test('infers stdio from command and Streamable HTTP from url, with defaults filled in', () => {
    const config = parseConfigText(
      'servers:\n  files: { command: npx, args: [a] }\n  search: { url: "http://127.0.0.1:3001/mcp" }\n  legacy: { url: "http://127.0.0.1:3002/sse", transport: sse }\n',
      'test.yaml',
    );
    assert.equal(config.servers.files?.transport, 'stdio');
    assert.equal(config.servers.search?.transport, 'streamable-http');
    assert.equal(config.servers.legacy?.transport, 'sse');
    assert.equal(config.listen.host, '127.0.0.1');
    assert.equal(config.listen.port, 8080);
    assert.equal(config.separator, '__');
    assert.equal(config.limits.maxBodyBytes, 4 * 1024 * 1024);
  });

  test('substitutes ${VAR} and ${VAR:-default} from the environment, typed like YAML', () => {
    const config = parseConfigText(
      'listen: { port: "${PORT:-9000}" }\nservers:\n  s:\n    url: http://127.0.0.1:1/mcp\n    headers: { Authorization: "Bearer ${TOKEN}", Literal: "$${NOT_A_VAR}" }\n',
      'test.yaml',
      { TOKEN: 'secret' },
    );
    assert.equal(config.listen.port, 9000);
    const server = config.servers.s;
    assert.ok(server && server.transport !== 'stdio');
    assert.equal(server.headers.Authorization, 'Bearer secret');
    assert.equal(server.headers.Literal, '${NOT_A_VAR}');
  });

  test('an unset variable without a default is an error naming where it is used', () => {
    assert.throws(
      () => parseConfigText('servers:\n  s: { url: "http://127.0.0.1:1/mcp", headers: { A: "${MISSING_VAR}" } }\n', 'test.yaml', {}),
      /servers\.s\.headers\.A: environment variable MISSING_VAR is not set/,
    );
  });

  test('validation errors name the path, the bad value and what is allowed', () => {
    assert.throws(
      () => parseConfigText('listen: { port: 99999 }\nservers:\n  s: { command: 42 }\n', 'bad.yaml', {}),
      (error: Error) => {
        assert.match(error.message, /listen\.port: .*65535.*\(found 99999\)/);
        assert.match(error.message, /servers\.s\.command: .*string.*\(found 42\)/);
        return true;
      },
    );
    assert.throws(() => parseConfigText('listn: {}\n', 'typo.yaml', {}), /listn/);
    assert.throws(() => parseConfigText('servers:\n  "a__b": { command: x }\n', 'sep.yaml', {}), /must not contain the separator/);
  });

  test('invalid YAML is an error with a line number, never a crash', () => {
    assert.throws(() => parseConfigText('servers:\n  s: [unclosed\n', 'broken.yaml', {}), /broken\.yaml at line \d+: not valid YAML/);
  });

  test('accepts Claude Desktop / Cursor mcpServers JSON and VS Code servers JSON', () => {
    const claude = parseConfigText(
      JSON.stringify({ mcpServers: { fs: { command: 'npx', args: ['-y', 'x'], env: { A: 'b' } }, web: { url: 'http://127.0.0.1:9/mcp' } } }),
      'claude.json',
      {},
    );
    assert.equal(claude.servers.fs?.transport, 'stdio');
    assert.equal(claude.servers.web?.transport, 'streamable-http');
    const vscode = parseConfigText(
      JSON.stringify({ servers: { gh: { type: 'http', url: 'http://127.0.0.1:9/mcp' }, old: { type: 'sse', url: 'http://127.0.0.1:9/sse' }, local: { type: 'stdio', command: 'node' } } }),
      'mcp.json',
      {},
    );
    assert.equal(vscode.servers.gh?.transport, 'streamable-http');
    assert.equal(vscode.servers.old?.transport, 'sse');
    assert.equal(vscode.servers.local?.transport, 'stdio');
  });

  test('every example config loads', async () => {
    const files = (await readdir(new URL('../../examples/', import.meta.url))).filter((name) => /\.(ya?ml|json)$/.test(name));
    assert.ok(files.length > 0);
    for (const file of files) await loadConfigFile(new URL(`../../examples/${file}`, import.meta.url).pathname, {});
  });

  test('the checked-in JSON Schema is what the zod schema generates (run npm run gen:schema)', async () => {
    const checkedIn = await readFile(new URL('../../schema/gatehouse.schema.json', import.meta.url), 'utf8');
    assert.equal(checkedIn, configJsonSchemaText());
  });
});
