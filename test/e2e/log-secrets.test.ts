// Secrets never reach the logs (issue #7). A real gateway process at debug level is given every kind
// of secret it handles: upstream header values, an OAuth client secret (a right and a wrong one) and
// the token it buys, a stdio server's env, API keys, wrong and URL-borne client tokens, and a header
// registered through the admin API. Calls succeed and fail (upstream 401, bad credentials, a token
// endpoint that refuses), and then every byte the process wrote to stdout and stderr is searched.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { createServer, type Server } from 'node:http';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { stringify } from 'yaml';
import { Registry, openSqliteStore, type Store } from '../../src/registry/index.js';
import { fixturePath, repoRoot, startHttpFixture, startNodeProcess, tsxImport, type HttpFixture, type NodeProcess } from '../fixtures/spawn-fixture.js';
import { everythingStdio } from '../helpers/gateway-process.js';

function secret(kind: string): string {
  return `${kind}-${randomBytes(12).toString('hex')}`;
}

const SECRETS = {
  headerToken: secret('hdr'),
  extraHeader: secret('xhdr'),
  clientSecret: secret('oauthsecret'),
  wrongClientSecret: secret('wrongsecret'),
  accessToken: secret('accesstoken'),
  lockedHeader: secret('locked'),
  stdioEnv: secret('envsecret'),
  adminHeader: secret('adminhdr'),
  queryToken: secret('querytoken'),
};

/** A loopback HTTP server for the test's own endpoints; closed by the returned function. */
async function listen(handler: Parameters<typeof createServer>[1]): Promise<{ url: string; server: Server }> {
  const server = createServer(handler);
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, server };
}

describe('secrets never appear in the gateway\'s logs', () => {
  let dir: string;
  let recorder: HttpFixture;
  let tokenEndpoint: { url: string; server: Server };
  let lockedUpstream: { url: string; server: Server };
  let gateway: NodeProcess;
  let store: Store;
  const output: string[] = [];
  const tokens: Record<string, string> = {};

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'gatehouse-log-secrets-'));
    recorder = await startHttpFixture(fixturePath('header-recorder.ts'));
    // An OAuth token endpoint that knows one client secret (client_secret_basic).
    tokenEndpoint = await listen((request, response) => {
      request.resume();
      const expected = `Basic ${Buffer.from(`gatehouse:${SECRETS.clientSecret}`).toString('base64')}`;
      if (request.headers.authorization !== expected) {
        response.writeHead(401, { 'content-type': 'application/json' }).end('{"error":"invalid_client"}');
        return;
      }
      response.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ access_token: SECRETS.accessToken, token_type: 'Bearer', expires_in: 3600 }));
    });
    // An MCP server that refuses every request with 401.
    lockedUpstream = await listen((request, response) => {
      request.resume();
      response.writeHead(401, { 'www-authenticate': 'Bearer error="invalid_token"', 'content-type': 'application/json' }).end('{"error":"invalid_token"}');
    });

    const configFile = join(dir, 'gatehouse.yaml');
    await writeFile(
      configFile,
      stringify({
        log: { level: 'debug' },
        dataDir: join(dir, 'data'),
        registry: { healthCheckIntervalMs: 0 },
        upstreamDefaults: { initializeTimeoutMs: 10_000 },
        auth: { required: true },
        servers: {
          everything: { ...everythingStdio, isolation: 'shared', env: { GATEHOUSE_TEST_TOKEN: SECRETS.stdioEnv } },
          static: { url: recorder.url, headers: { Authorization: `Bearer ${SECRETS.headerToken}`, 'X-Extra-Secret': SECRETS.extraHeader } },
          oauthed: { url: recorder.url, oauth: { tokenUrl: `${tokenEndpoint.url}/token`, clientId: 'gatehouse', clientSecret: SECRETS.clientSecret } },
          refused: { url: recorder.url, oauth: { tokenUrl: `${tokenEndpoint.url}/token`, clientId: 'gatehouse', clientSecret: SECRETS.wrongClientSecret } },
          locked: { url: `${lockedUpstream.url}/mcp`, headers: { Authorization: `Bearer ${SECRETS.lockedHeader}` } },
        },
      }),
    );
    gateway = await startNodeProcess({
      script: 'src/cli/main.ts',
      args: ['serve', '--config', configFile, '--port', '0'],
      onStdoutLine: (line) => output.push(line),
      onStderrLine: (line) => output.push(line),
      urlFromStdoutLine: (line) => (line.includes('gatehouse listening') ? (JSON.parse(line) as { url: string }).url : undefined),
    });
    store = await openSqliteStore(join(dir, 'data', 'gatehouse.db'));
    const registry = await Registry.open({ store, separator: '__', defaultStatus: 'approved', stdioRegistration: { enabled: false, allowedCommands: [] } });
    tokens.admin = (await registry.createApiKey({ name: 'root', roles: ['admin'], actor: 'test' })).token;
  });

  after(async () => {
    await store?.close();
    await gateway?.close();
    await recorder?.close();
    tokenEndpoint?.server.close();
    lockedUpstream?.server.close();
    if (dir !== undefined) await rm(dir, { recursive: true, force: true });
  });

  test('calls that succeed and fail, at the edge and upstream', async () => {
    const url = gateway.url;
    const client = new Client({ name: 'log-secrets', version: '1.0.0' });
    await client.connect(new StreamableHTTPClientTransport(new URL(`${url}/mcp`), { requestInit: { headers: { authorization: `Bearer ${tokens.admin}` } } }));
    try {
      await client.listTools();
      const echo = await client.callTool({ name: 'everything__echo', arguments: { message: 'hello' } });
      assert.notEqual(echo.isError, true);
      // The upstream echoes the headers it got: the configured ones and the bought token reached it.
      const statically = await client.callTool({ name: 'static__headers', arguments: {} });
      assert.match(JSON.stringify(statically.content), new RegExp(SECRETS.headerToken));
      const oauthed = await client.callTool({ name: 'oauthed__headers', arguments: {} });
      assert.match(JSON.stringify(oauthed.content), new RegExp(SECRETS.accessToken));
      // The token endpoint refuses the wrong client secret; the server that answers 401 stays down.
      const refused = await client.callTool({ name: 'refused__headers', arguments: {} });
      assert.equal(refused.isError, true);
      const locked = await client.callTool({ name: 'locked__anything', arguments: {} });
      assert.equal(locked.isError, true);

      // A server registered through the admin API with a secret header, then called.
      const registered = await fetch(`${url}/admin/api/v1/servers`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: `Bearer ${tokens.admin}` },
        body: JSON.stringify({ name: 'dynamic', url: recorder.url, headers: { 'X-Admin-Secret': SECRETS.adminHeader } }),
      });
      assert.equal(registered.status, 201, await registered.clone().text());
      assert.doesNotMatch(await registered.text(), new RegExp(SECRETS.adminHeader), 'masked in the API answer too');
    } finally {
      await client.close();
    }
    const dynamic = new Client({ name: 'log-secrets', version: '1.0.0' });
    await dynamic.connect(new StreamableHTTPClientTransport(new URL(`${url}/servers/dynamic/mcp`), { requestInit: { headers: { authorization: `Bearer ${tokens.admin}` } } }));
    try {
      const headers = await dynamic.callTool({ name: 'headers', arguments: {} });
      assert.match(JSON.stringify(headers.content), new RegExp(SECRETS.adminHeader));
    } finally {
      await dynamic.close();
    }

    // Wrong credentials at the edge: a key with a wrong secret, a forged JWT, a token in the URL.
    const wrongKey = tokens.admin!.slice(0, -6) + 'abcdef';
    tokens.wrongKey = wrongKey;
    const forgedJwt = `${Buffer.from('{"alg":"RS256","typ":"JWT"}').toString('base64url')}.${Buffer.from(`{"sub":"${secret('sub')}"}`).toString('base64url')}.${secret('sig')}`;
    tokens.forgedJwt = forgedJwt;
    const initialize = JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'initialize', params: { protocolVersion: '2025-11-25', capabilities: {}, clientInfo: { name: 'x', version: '1' } } });
    const mcpHeaders = { 'content-type': 'application/json', accept: 'application/json, text/event-stream' };
    for (const token of [wrongKey, forgedJwt]) {
      const response = await fetch(`${url}/mcp`, { method: 'POST', headers: { ...mcpHeaders, authorization: `Bearer ${token}` }, body: initialize });
      assert.equal(response.status, 401);
      assert.doesNotMatch(`${await response.text()} ${response.headers.get('www-authenticate')}`, new RegExp(token.slice(-12)));
    }
    const inQuery = await fetch(`${url}/mcp?access_token=${SECRETS.queryToken}`, { method: 'POST', headers: mcpHeaders, body: initialize });
    assert.equal(inQuery.status, 400);
    assert.equal((await fetch(`${url}/admin/api/v1/servers`, { headers: { authorization: `Bearer ${wrongKey}` } })).status, 401);
  });

  test('objects that hold secrets are redacted if ever logged whole', async () => {
    const lines: string[] = [];
    const script = [
      `import { createLogger } from ${JSON.stringify(join(repoRoot, 'src/observability/index.ts'))};`,
      'const logger = createLogger({ level: "debug" });',
      `logger.warn({ server: 'x', spec: { url: 'http://127.0.0.1/mcp', headers: { Authorization: 'Bearer ${SECRETS.headerToken}' }, oauth: { clientSecret: '${SECRETS.clientSecret}' }, env: { K: '${SECRETS.stdioEnv}' } }, token: '${SECRETS.accessToken}' }, 'a spec');`,
      'logger.flush(() => process.exit(0));',
    ].join('\n');
    const child = spawn(process.execPath, ['--import', tsxImport, '--input-type=module', '-e', script], { stdio: ['ignore', 'pipe', 'pipe'] });
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => lines.push(chunk));
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => lines.push(chunk));
    const [code] = (await once(child, 'exit')) as [number | null];
    const text = lines.join('');
    assert.equal(code, 0, text);
    const line = JSON.parse(text.trim()) as { spec: Record<string, unknown>; token: string; server: string };
    assert.equal(line.server, 'x');
    assert.equal(line.spec.url, 'http://127.0.0.1/mcp');
    assert.deepEqual([line.spec.headers, (line.spec.oauth as Record<string, unknown>).clientSecret, line.spec.env, line.token], ['[redacted]', '[redacted]', '[redacted]', '[redacted]']);
  });

  test('after a shutdown, no secret is anywhere in what the process wrote', async () => {
    await gateway.close();
    const everything = output.join('\n');
    // The capture works and was at debug level: it saw the sessions and the upstream failures.
    assert.match(everything, /"msg":"session opened"/);
    assert.match(everything, /"msg":"upstream down"/);
    const basic = Buffer.from(`gatehouse:${SECRETS.clientSecret}`).toString('base64');
    const forbidden = { ...SECRETS, apiKey: tokens.admin!, apiKeySecret: tokens.admin!.split('_').at(-1)!, wrongKey: tokens.wrongKey!, forgedJwt: tokens.forgedJwt!, basic };
    const leaked = Object.entries(forbidden).filter(([, value]) => everything.includes(value));
    assert.deepEqual(
      leaked.map(([name]) => name),
      [],
      `secrets in the logs:\n${output.filter((line) => leaked.some(([, value]) => line.includes(value))).join('\n')}`,
    );
  });
});
