// The gateway under hostile or careless clients: cancelled calls, slowloris, body limits and Origin.
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { request as httpRequest } from 'node:http';
import { connect as tcpConnect, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import type { Progress } from '@modelcontextprotocol/sdk/types.js';
import { repoRoot } from '../fixtures/spawn-fixture.js';
import { everythingStdio, startGateway, waitFor, type GatewayProcess } from '../helpers/gateway-process.js';
import { textOf } from '../helpers/results.js';

const JSON_AND_SSE = 'application/json, text/event-stream';

interface RawReply {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: string;
}

/** One request on its own connection (no keep-alive reuse), so every header and byte is the test's. */
function raw(url: string, options: { method?: string; headers?: Record<string, string>; body?: string | Buffer; chunked?: boolean }): Promise<RawReply> {
  return new Promise((resolve, reject) => {
    let replied = false;
    const req = httpRequest(url, { method: options.method ?? 'POST', headers: options.headers ?? {}, agent: false }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (chunk: Buffer) => chunks.push(chunk));
      res.on('end', () => {
        replied = true;
        resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks).toString('utf8') });
      });
      res.on('error', (error) => {
        if (!replied) reject(error);
      });
    });
    // A server that answers 413 without reading the rest may reset the connection after its reply.
    req.on('error', (error) => {
      if (!replied) reject(error);
    });
    if (options.chunked === true && options.body !== undefined) {
      // No Content-Length: the body arrives in chunks and the limit must be counted while reading.
      const body = Buffer.from(options.body);
      const half = Math.floor(body.length / 2);
      req.write(body.subarray(0, half));
      req.end(body.subarray(half));
    } else {
      req.end(options.body);
    }
  });
}

function initializeBody(name: string): string {
  return JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'initialize', params: { protocolVersion: '2025-11-25', capabilities: {}, clientInfo: { name, version: '1' } } });
}

async function openRawSession(mcp: string): Promise<string> {
  const init = await raw(mcp, { headers: { 'content-type': 'application/json', accept: JSON_AND_SSE }, body: initializeBody('raw') });
  assert.equal(init.status, 200, init.body);
  const sessionId = String(init.headers['mcp-session-id']);
  const initialized = await raw(mcp, {
    headers: { 'content-type': 'application/json', accept: JSON_AND_SSE, 'mcp-session-id': sessionId },
    body: JSON.stringify({ jsonrpc: '2.0', method: 'notifications/initialized' }),
  });
  assert.equal(initialized.status, 202);
  return sessionId;
}

/** Rejects after `ms` with a message naming what did not happen; the timer never outlives the race. */
async function within<T>(ms: number, what: string, promise: Promise<T>): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  try {
    return await Promise.race([
      promise,
      new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new Error(`${what} did not happen within ${ms} ms`)), ms);
      }),
    ]);
  } finally {
    clearTimeout(timer);
  }
}

// A pass-through in front of server-everything that copies every line the gateway sends it to stderr,
// which the gateway logs as "upstream stderr": the test can then see what the server was told. The
// child shares the tap's process group, so the gateway's group kill ends both.
const TAP_SCRIPT = `
import { spawn } from 'node:child_process';
import { createInterface } from 'node:readline';
const [entry, ...args] = process.argv.slice(2);
const child = spawn(process.execPath, [entry, ...args], { stdio: ['pipe', 'inherit', 'inherit'] });
child.stdin.on('error', () => {});
createInterface({ input: process.stdin }).on('line', (line) => {
  process.stderr.write('tap> ' + line + '\\n');
  child.stdin.write(line + '\\n');
});
process.stdin.on('end', () => child.stdin.end());
child.on('exit', (code) => process.exit(code ?? 1));
`;

interface TappedMessage {
  id?: string | number;
  method?: string;
  params?: { name?: string; requestId?: string | number; reason?: string };
}

describe('a cancelled call is cancelled upstream and the session goes on', () => {
  let gateway: GatewayProcess;
  let client: Client;
  let dir: string;

  /** What the everything server received, read from the tap's lines in the gateway log. */
  const tapped = (): TappedMessage[] =>
    gateway.logs.flatMap((line) => {
      const text = line.stderr;
      if (line.msg !== 'upstream stderr' || typeof text !== 'string' || !text.startsWith('tap> ')) return [];
      return [JSON.parse(text.slice('tap> '.length)) as TappedMessage];
    });

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'gatehouse-tap-'));
    const tap = join(dir, 'tap.mjs');
    await writeFile(tap, TAP_SCRIPT);
    const everythingEntry = join(repoRoot, everythingStdio.args[0]!);
    gateway = await startGateway({ servers: { everything: { command: process.execPath, args: [tap, everythingEntry, 'stdio'] } } });
    client = new Client({ name: 'canceller', version: '1' });
    await client.connect(new StreamableHTTPClientTransport(new URL(`${gateway.url}/mcp`)));
  });

  after(async () => {
    await client?.close();
    await gateway?.close();
    await rm(dir, { recursive: true, force: true });
  });

  test('aborting after the first progress rejects the call and sends notifications/cancelled to the server for its request', async () => {
    const controller = new AbortController();
    const progress: Progress[] = [];
    let firstProgress: () => void = () => {};
    const progressed = new Promise<void>((resolve) => (firstProgress = resolve));
    const call = client.callTool(
      { name: 'everything__trigger-long-running-operation', arguments: { duration: 5, steps: 5 } },
      undefined,
      {
        signal: controller.signal,
        timeout: 120_000,
        onprogress: (update) => {
          progress.push(update);
          firstProgress();
        },
      },
    );
    call.catch(() => undefined); // observed below; keeps an early rejection from being reported as unhandled
    await within(60_000, 'the first progress notification', progressed);
    controller.abort(new Error('the user pressed stop'));
    await assert.rejects(call, /the user pressed stop/);

    // The server saw the call under the gateway's id, then a cancellation naming that same id.
    await waitFor(() => tapped().some((message) => message.method === 'notifications/cancelled'), 30_000, 'notifications/cancelled at the server');
    const upstreamCall = tapped().find((message) => message.method === 'tools/call' && message.params?.name === 'trigger-long-running-operation');
    assert.ok(upstreamCall?.id !== undefined, 'the server never received the tools/call');
    const cancelled = tapped().filter((message) => message.method === 'notifications/cancelled');
    assert.equal(cancelled.length, 1, JSON.stringify(cancelled));
    assert.equal(cancelled[0]?.params?.requestId, upstreamCall.id);
    assert.match(cancelled[0]?.params?.reason ?? '', /the user pressed stop/);
    assert.ok(progress.length >= 1 && progress.length < 5, `progress after the abort: ${JSON.stringify(progress)}`);
  });

  test('the same session goes on: a plain call and a full long-running call with progress both work', async () => {
    const echo = await client.callTool({ name: 'everything__echo', arguments: { message: 'after cancel' } });
    assert.equal(textOf(echo), 'Echo: after cancel');
    const progress: Progress[] = [];
    const long = await client.callTool(
      { name: 'everything__trigger-long-running-operation', arguments: { duration: 1, steps: 2 } },
      undefined,
      { onprogress: (update) => progress.push(update), timeout: 120_000 },
    );
    assert.match(textOf(long), /completed/i);
    assert.deepEqual(progress.map((update) => update.progress), [1, 2]);
  });

  test('the gateway stays healthy and logged no error for the cancellation', async () => {
    assert.equal((await fetch(`${gateway.url}/healthz`)).status, 200);
    assert.equal((await fetch(`${gateway.url}/readyz`)).status, 200);
    const errors = gateway.logs.filter((line) => typeof line.level === 'number' && line.level >= 50);
    assert.deepEqual(errors, []);
  });
});

interface SlowClient {
  /** Milliseconds from connecting to the server closing the connection. */
  closedAfterMs: Promise<number>;
  /** Whatever the server wrote before closing. */
  received(): string;
  socket: Socket;
}

/** A TCP client that never finishes its request: it trickles `trickle` one byte at a time after `head`. */
function slowClient(port: number, head: string, trickle: string, byteIntervalMs: number): SlowClient {
  const socket = tcpConnect(port, '127.0.0.1');
  const started = Date.now();
  let received = '';
  let timer: NodeJS.Timeout | undefined;
  socket.setEncoding('utf8');
  socket.on('data', (data: string) => (received += data));
  socket.on('error', () => {}); // a write racing the server's close: the close is what is asserted
  socket.once('connect', () => {
    if (head.length > 0) socket.write(head);
    let next = 0;
    if (trickle.length > 0) {
      timer = setInterval(() => {
        if (next < trickle.length && !socket.destroyed) socket.write(trickle[next++]!);
      }, byteIntervalMs);
    }
  });
  // Not events.once(): it rejects on 'error', and a byte written as the server closes makes the
  // server's kernel answer with a reset (ECONNRESET here) — still the server closing the connection.
  const closedAfterMs = new Promise<number>((resolve) =>
    socket.once('close', () => {
      clearInterval(timer);
      resolve(Date.now() - started);
    }),
  );
  return { closedAfterMs, received: () => received, socket };
}

describe('slow clients (slowloris) are cut off and never hold up other clients', () => {
  const headersTimeoutMs = 1_000;
  const requestTimeoutMs = 2_000;
  // Node checks its header and request timers only every `connectionsCheckingInterval` (30 s unless
  // the server sets it), so a generous bound for "eventually" and a tight one for "on time".
  const eventuallyMs = 60_000;
  // Generous for a loaded machine, and still far below the 30 s Node would otherwise take.
  const onTimeSlackMs = 12_000;
  let gateway: GatewayProcess;
  let trickling: SlowClient[] = [];
  let stalledBody: SlowClient;

  before(async () => {
    gateway = await startGateway({ servers: { everything: everythingStdio }, limits: { headersTimeoutMs, requestTimeoutMs } });
    const port = Number(new URL(gateway.url).port);
    // Ten connections sending headers a byte every 200 ms: a request line and a header that never ends.
    trickling = Array.from({ length: 10 }, () => slowClient(port, '', `POST /mcp HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: ${'a'.repeat(2_000)}`, 200));
    // Complete headers announcing 1000 bytes, a few bytes of body, then nothing.
    stalledBody = slowClient(
      port,
      `POST /mcp HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nAccept: ${JSON_AND_SSE}\r\nContent-Length: 1000\r\n\r\n{"jsonrpc":`,
      '',
      0,
    );
    await Promise.all([...trickling, stalledBody].map((client) => (client.socket.connecting ? once(client.socket, 'connect') : undefined)));
  });

  after(async () => {
    for (const client of [...trickling, stalledBody]) client?.socket.destroy();
    await gateway?.close();
  });

  test('other clients are answered while slow connections are open', async () => {
    // Every slow connection was connected and mid-request (before() awaited them) when these are sent.
    const health = await raw(`${gateway.url}/healthz`, { method: 'GET' });
    assert.equal(health.status, 200);
    const mcp = `${gateway.url}/mcp`;
    const sessionId = await openRawSession(mcp);
    const ping = await raw(mcp, {
      headers: { 'content-type': 'application/json', accept: JSON_AND_SSE, 'mcp-session-id': sessionId },
      body: JSON.stringify({ jsonrpc: '2.0', id: 'alive', method: 'ping' }),
    });
    assert.deepEqual(JSON.parse(ping.body), { jsonrpc: '2.0', id: 'alive', result: {} });
  });

  test('a client trickling its headers byte by byte is closed by the server (408 or close)', async () => {
    const closed = await within(eventuallyMs, 'the server closing the trickling connections', Promise.all(trickling.map((client) => client.closedAfterMs)));
    assert.equal(closed.length, trickling.length);
    for (const client of trickling) assert.match(client.received(), /^(HTTP\/1\.1 408 |$)/, client.received());
  });

  test('a client that stalls its body is closed by the server (408 or close)', async () => {
    await within(eventuallyMs, 'the server closing the stalled body', stalledBody.closedAfterMs);
    assert.match(stalledBody.received(), /^(HTTP\/1\.1 408 |$)/, stalledBody.received());
  });

  test(
    'trickled headers are cut off within headersTimeoutMs, not Node\'s 30 s connection check',
    async () => {
      const closedAfter = await within(eventuallyMs, 'closing', Promise.all(trickling.map((client) => client.closedAfterMs)));
      const slowest = Math.max(...closedAfter);
      assert.ok(slowest <= headersTimeoutMs + onTimeSlackMs, `closed after ${slowest} ms with headersTimeoutMs ${headersTimeoutMs}`);
    },
  );

  test(
    'a stalled body is cut off within requestTimeoutMs, not Node\'s 30 s connection check',
    async () => {
      const closedAfter = await within(eventuallyMs, 'closing', stalledBody.closedAfterMs);
      assert.ok(closedAfter <= requestTimeoutMs + onTimeSlackMs, `closed after ${closedAfter} ms with requestTimeoutMs ${requestTimeoutMs}`);
    },
  );

  test('the gateway is healthy after the slow clients are gone', async () => {
    assert.equal((await raw(`${gateway.url}/healthz`, { method: 'GET' })).status, 200);
  });
});

describe('the body size limit is exact', () => {
  const maxBodyBytes = 4_096;
  let gateway: GatewayProcess;
  let mcp: string;
  let sessionId: string;

  /** A ping padded with trailing spaces (valid JSON whitespace) to exactly `size` bytes. */
  const pingOfSize = (size: number, id: string): string => {
    const ping = JSON.stringify({ jsonrpc: '2.0', id, method: 'ping' });
    return ping + ' '.repeat(size - Buffer.byteLength(ping));
  };
  const post = (body: string, chunked = false): Promise<RawReply> =>
    raw(mcp, { body, chunked, headers: { 'content-type': 'application/json', accept: JSON_AND_SSE, 'mcp-session-id': sessionId } });

  before(async () => {
    gateway = await startGateway({ servers: { everything: everythingStdio }, limits: { maxBodyBytes } });
    mcp = `${gateway.url}/mcp`;
    sessionId = await openRawSession(mcp);
  });

  after(async () => {
    await gateway?.close();
  });

  for (const size of [maxBodyBytes - 1, maxBodyBytes]) {
    for (const chunked of [false, true]) {
      test(`a body of ${size} bytes (limit ${maxBodyBytes}, ${chunked ? 'chunked' : 'Content-Length'}) is accepted`, async () => {
        const body = pingOfSize(size, `size-${size}`);
        assert.equal(Buffer.byteLength(body), size);
        const reply = await post(body, chunked);
        assert.equal(reply.status, 200, reply.body);
        assert.deepEqual(JSON.parse(reply.body), { jsonrpc: '2.0', id: `size-${size}`, result: {} });
      });
    }
  }

  for (const chunked of [false, true]) {
    test(`a body one byte over the limit (${chunked ? 'chunked' : 'Content-Length'}) is 413`, async () => {
      const reply = await post(pingOfSize(maxBodyBytes + 1, 'over'), chunked);
      assert.equal(reply.status, 413, reply.body);
      assert.equal(JSON.parse(reply.body).error.data?.reason, 'body_too_large');
      // The session is unaffected.
      const ping = await post(pingOfSize(100, 'after-413'));
      assert.deepEqual(JSON.parse(ping.body), { jsonrpc: '2.0', id: 'after-413', result: {} });
    });
  }
});

describe('Origin handling for browser clients', () => {
  const allowedOrigin = 'https://app.example';
  let gateway: GatewayProcess;
  let mcp: string;

  const headerList = (value: string | string[] | undefined): string[] =>
    String(value ?? '')
      .split(',')
      .map((item) => item.trim().toLowerCase())
      .filter((item) => item.length > 0);

  before(async () => {
    gateway = await startGateway({ servers: { everything: everythingStdio }, listen: { allowedOrigins: [allowedOrigin] } });
    mcp = `${gateway.url}/mcp`;
  });

  after(async () => {
    await gateway?.close();
  });

  test('a listed origin is accepted, with its origin echoed and the session id exposed', async () => {
    const init = await raw(mcp, { headers: { 'content-type': 'application/json', accept: JSON_AND_SSE, origin: allowedOrigin }, body: initializeBody('browser') });
    assert.equal(init.status, 200, init.body);
    assert.equal(init.headers['access-control-allow-origin'], allowedOrigin);
    assert.ok(headerList(init.headers['access-control-expose-headers']).includes('mcp-session-id'), String(init.headers['access-control-expose-headers']));
    assert.ok(headerList(init.headers.vary).includes('origin'), 'a cache must not reuse this answer for another origin');
    assert.ok(typeof init.headers['mcp-session-id'] === 'string');
  });

  test('a CORS preflight from a listed origin is 204 with the methods and headers MCP needs', async () => {
    const preflight = await raw(mcp, {
      method: 'OPTIONS',
      headers: {
        origin: allowedOrigin,
        'access-control-request-method': 'POST',
        'access-control-request-headers': 'content-type, mcp-session-id, mcp-protocol-version, last-event-id',
      },
    });
    assert.equal(preflight.status, 204);
    assert.equal(preflight.headers['access-control-allow-origin'], allowedOrigin);
    const methods = headerList(preflight.headers['access-control-allow-methods']);
    for (const method of ['get', 'post', 'delete']) assert.ok(methods.includes(method), `allow-methods: ${methods.join(', ')}`);
    const headers = headerList(preflight.headers['access-control-allow-headers']);
    for (const header of ['content-type', 'mcp-session-id', 'mcp-protocol-version', 'last-event-id']) {
      assert.ok(headers.includes(header), `allow-headers lacks ${header}: ${headers.join(', ')}`);
    }
  });

  test(
    'a preflight allows the 2026-07-28 request headers (Mcp-Method, Mcp-Name, Mcp-Param-*)',
    async () => {
      const preflight = await raw(mcp, {
        method: 'OPTIONS',
        headers: { origin: allowedOrigin, 'access-control-request-method': 'POST', 'access-control-request-headers': 'content-type, mcp-protocol-version, mcp-method, mcp-name, mcp-param-city' },
      });
      assert.equal(preflight.status, 204);
      const headers = headerList(preflight.headers['access-control-allow-headers']);
      for (const header of ['mcp-method', 'mcp-name', 'mcp-param-city']) assert.ok(headers.includes(header), `allow-headers lacks ${header}: ${headers.join(', ')}`);
    },
  );

  for (const origin of ['https://evil.example', 'http://app.example', 'https://app.example:8443', 'https://app.example.evil.example', 'null']) {
    test(`an origin that is not listed (${origin}) is 403, on POST and on preflight, with no CORS grant`, async () => {
      const post = await raw(mcp, { headers: { 'content-type': 'application/json', accept: JSON_AND_SSE, origin }, body: initializeBody('evil') });
      assert.equal(post.status, 403, post.body);
      assert.equal(post.headers['access-control-allow-origin'], undefined);
      assert.equal(post.headers['mcp-session-id'], undefined, 'no session is created for a refused origin');
      assert.equal(JSON.parse(post.body).error.data?.reason, 'forbidden_origin');
      const preflight = await raw(mcp, { method: 'OPTIONS', headers: { origin, 'access-control-request-method': 'POST' } });
      assert.equal(preflight.status, 403);
      assert.equal(preflight.headers['access-control-allow-origin'], undefined);
    });
  }

  test('loopback origins stay allowed next to the listed ones', async () => {
    const init = await raw(mcp, { headers: { 'content-type': 'application/json', accept: JSON_AND_SSE, origin: 'http://localhost:5173' }, body: initializeBody('local') });
    assert.equal(init.status, 200, init.body);
    assert.equal(init.headers['access-control-allow-origin'], 'http://localhost:5173');
  });
});
