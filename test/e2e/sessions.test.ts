// Session lifecycle of the Streamable HTTP front, byte by byte where the SDK would hide it: memory
// returns to where it was after thousands of sessions, idle sessions are reaped, open streams get
// keep-alive comments, a cut POST stream resumes with Last-Event-ID, SIGTERM drains in-flight calls,
// one GET stream per session, and a session lives only on the endpoint that created it.
import assert from 'node:assert/strict';
import { Agent, request as httpRequest, type ClientRequest, type IncomingHttpHeaders } from 'node:http';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { stringify } from 'yaml';
import { inspectorUrlFromLine, memoryAfterGc } from '../../bench/process-stats.js';
import { killSurvivors, snapshotDescendants, survivorsOf, type ProcessRecord } from '../fixtures/process-tree.js';
import { startNodeProcess, type NodeProcess } from '../fixtures/spawn-fixture.js';
import { everythingStdio, startGateway, waitFor, type GatewayProcess } from '../helpers/gateway-process.js';
import { rawRequest, readRawReply, type RawReply } from '../helpers/raw-http.js';

const JSON_AND_SSE = 'application/json, text/event-stream';
const LATEST = '2025-11-25';
/** Generous: a loaded 2-core CI machine may take seconds for what takes milliseconds here. */
const eventTimeoutMs = 30_000;

/** Keep-alive connections for the bulk tests; everything else uses a fresh connection per request. */
let bulkAgent: Agent | undefined;

/** One raw HTTP request, so the tests control every header. */
function raw(url: string, options: { method?: string; headers?: Record<string, string>; body?: string }): Promise<RawReply> {
  return rawRequest(url, { ...options, agent: bulkAgent ?? false });
}

interface SseEvent {
  id: string | undefined;
  event: string | undefined;
  data: string;
}

/**
 * An open response read as Server-Sent Events as the bytes arrive: events, comments and the end.
 * `until` waits for a condition on what has arrived, re-checked on every chunk, never on a timer.
 */
class SseConnection {
  readonly events: SseEvent[] = [];
  readonly comments: string[] = [];
  ended = false;
  private buffered = '';
  private readonly waiters = new Set<() => void>();

  constructor(
    readonly status: number,
    readonly headers: IncomingHttpHeaders,
    private readonly request: ClientRequest,
    response: NodeJS.ReadableStream,
  ) {
    response.setEncoding('utf8');
    response.on('data', (chunk: string) => {
      this.buffered += chunk.replace(/\r\n/g, '\n');
      let end = this.buffered.indexOf('\n\n');
      while (end !== -1) {
        this.parse(this.buffered.slice(0, end));
        this.buffered = this.buffered.slice(end + 2);
        end = this.buffered.indexOf('\n\n');
      }
      this.wake();
    });
    const finish = (): void => {
      this.ended = true;
      this.wake();
    };
    response.on('end', finish);
    response.on('close', finish);
    response.on('error', finish);
  }

  private parse(block: string): void {
    let id: string | undefined;
    let event: string | undefined;
    const data: string[] = [];
    let isEvent = false;
    for (const line of block.split('\n')) {
      if (line.startsWith(':')) {
        this.comments.push(line.slice(1).trim());
        continue;
      }
      const colon = line.indexOf(':');
      const field = colon === -1 ? line : line.slice(0, colon);
      const value = colon === -1 ? '' : line.slice(colon + 1).replace(/^ /, '');
      isEvent = true;
      if (field === 'id') id = value;
      else if (field === 'event') event = value;
      else if (field === 'data') data.push(value);
    }
    if (isEvent) this.events.push({ id, event, data: data.join('\n') });
  }

  private wake(): void {
    for (const waiter of [...this.waiters]) waiter();
  }

  /** JSON-RPC messages carried so far (the empty priming events left out). */
  messages(): Record<string, unknown>[] {
    return this.events.filter((event) => event.data.length > 0).map((event) => JSON.parse(event.data) as Record<string, unknown>);
  }

  /** Resolves once `predicate` holds; rejects if the stream ends first or after `timeoutMs`. */
  until(predicate: () => boolean, what: string, timeoutMs = eventTimeoutMs): Promise<void> {
    return new Promise((resolve, reject) => {
      let timer: NodeJS.Timeout | undefined;
      const check = (): void => {
        if (predicate()) done();
        else if (this.ended) done(new Error(`stream ended before ${what}; events: ${JSON.stringify(this.events)}`));
      };
      const done = (error?: Error): void => {
        this.waiters.delete(check);
        clearTimeout(timer);
        if (error) reject(error);
        else resolve();
      };
      timer = setTimeout(() => done(new Error(`timed out waiting for ${what}; events: ${JSON.stringify(this.events)}`)), timeoutMs);
      this.waiters.add(check);
      check();
    });
  }

  /** Cuts the connection, as a network failure would. */
  abort(): void {
    this.request.destroy();
  }
}

/** Sends a request and resolves on the response headers: an SseConnection for text/event-stream, else the whole reply. */
function open(url: string, options: { method?: string; headers?: Record<string, string>; body?: string }): Promise<SseConnection | RawReply> {
  return new Promise((resolve, reject) => {
    const req = httpRequest(url, { method: options.method ?? 'GET', headers: options.headers ?? {}, agent: false }, (res) => {
      if (String(res.headers['content-type']).startsWith('text/event-stream')) {
        resolve(new SseConnection(res.statusCode ?? 0, res.headers, req, res));
        return;
      }
      readRawReply(res).then(resolve, reject);
    });
    req.on('error', reject);
    req.end(options.body);
  });
}

/** For assertion messages: what came back, without the sockets. */
function describeReply(reply: SseConnection | RawReply): string {
  return reply instanceof SseConnection ? `an SSE stream (HTTP ${reply.status})` : `HTTP ${reply.status}: ${reply.body.slice(0, 300)}`;
}

async function openStream(url: string, options: { method?: string; headers?: Record<string, string>; body?: string }): Promise<SseConnection> {
  const reply = await open(url, options);
  if (!(reply instanceof SseConnection)) throw new Error(`expected an SSE stream, got HTTP ${reply.status}: ${reply.body}`);
  return reply;
}

/** Opens a session on `endpoint` (initialize + initialized) and returns its id. */
async function openSession(endpoint: string, protocolVersion = LATEST): Promise<string> {
  const init = await raw(endpoint, {
    headers: { 'content-type': 'application/json', accept: JSON_AND_SSE },
    body: JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'initialize', params: { protocolVersion, capabilities: {}, clientInfo: { name: 'sessions-test', version: '1' } } }),
  });
  assert.equal(init.status, 200, init.body);
  const sessionId = init.headers['mcp-session-id'];
  assert.ok(typeof sessionId === 'string' && sessionId.length > 0, 'initialize answered without Mcp-Session-Id');
  const initialized = await post(endpoint, sessionId, { jsonrpc: '2.0', method: 'notifications/initialized' });
  assert.equal(initialized.status, 202, initialized.body);
  return sessionId;
}

function post(endpoint: string, sessionId: string, message: unknown, headers: Record<string, string> = {}): Promise<RawReply> {
  return raw(endpoint, {
    headers: { 'content-type': 'application/json', accept: JSON_AND_SSE, 'mcp-session-id': sessionId, 'mcp-protocol-version': LATEST, ...headers },
    body: JSON.stringify(message),
  });
}

const ping = (endpoint: string, sessionId: string, id: string | number = 'ping'): Promise<RawReply> => post(endpoint, sessionId, { jsonrpc: '2.0', id, method: 'ping' });

function getStream(endpoint: string, sessionId: string, headers: Record<string, string> = {}): Promise<SseConnection | RawReply> {
  return open(endpoint, { method: 'GET', headers: { accept: 'text/event-stream', 'mcp-session-id': sessionId, 'mcp-protocol-version': LATEST, ...headers } });
}

function longRunningCall(id: string | number, duration: number, steps: number, progressToken: string): Record<string, unknown> {
  return {
    jsonrpc: '2.0',
    id,
    method: 'tools/call',
    params: { name: 'everything__trigger-long-running-operation', arguments: { duration, steps }, _meta: { progressToken } },
  };
}

function progressOf(messages: Record<string, unknown>[], token: string): number[] {
  return messages
    .filter((message) => message.method === 'notifications/progress' && (message.params as { progressToken?: unknown }).progressToken === token)
    .map((message) => (message.params as { progress: number }).progress);
}

const isResponseTo = (id: string | number) => (message: Record<string, unknown>): boolean => message.id === id && ('result' in message || 'error' in message);

describe('2 000 sessions opened and deleted leave the gateway\'s memory where it started', () => {
  let gateway: NodeProcess | undefined;
  let inspectorUrl: string | undefined;
  let dir: string;

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'gatehouse-memory-'));
    const configFile = join(dir, 'gatehouse.yaml');
    // info, not debug: a log line per session would measure pino, not the sessions.
    await writeFile(configFile, stringify({ log: { level: 'info' }, servers: { everything: everythingStdio } }));
    gateway = await startNodeProcess({
      script: 'src/cli/main.ts',
      args: ['serve', '--config', configFile, '--port', '0'],
      // The inspector lets the test force a full GC in the gateway and read its heap (as bench/ does).
      nodeArgs: ['--expose-gc', '--inspect=127.0.0.1:0'],
      onStderrLine: (line) => {
        inspectorUrl ??= inspectorUrlFromLine(line);
      },
      urlFromStdoutLine: (line) => (line.includes('gatehouse listening') ? (JSON.parse(line) as { url: string }).url : undefined),
    });
  });

  after(async () => {
    await gateway?.close();
    await rm(dir, { recursive: true, force: true });
  });

  async function heapUsed(): Promise<number> {
    const sample = await memoryAfterGc(gateway!.pid, inspectorUrl);
    assert.ok(sample?.collected && sample.heapUsedBytes !== undefined, 'the inspector forced a GC and read the heap');
    return sample.heapUsedBytes;
  }

  /** Opens `count` sessions, `concurrency` at a time; each initializes and lists tools once. */
  async function openSessions(count: number, concurrency = 25): Promise<string[]> {
    const mcp = `${gateway!.url}/mcp`;
    const ids: string[] = [];
    for (let start = 0; start < count; start += concurrency) {
      const wave = await Promise.all(
        Array.from({ length: Math.min(concurrency, count - start) }, async (_, index) => {
          const id = await openSession(mcp);
          const list = await post(mcp, id, { jsonrpc: '2.0', id: start + index, method: 'tools/list' });
          assert.equal(list.status, 200, list.body);
          return id;
        }),
      );
      ids.push(...wave);
    }
    return ids;
  }

  async function deleteSessions(ids: readonly string[], concurrency = 25): Promise<void> {
    const mcp = `${gateway!.url}/mcp`;
    for (let start = 0; start < ids.length; start += concurrency) {
      const replies = await Promise.all(ids.slice(start, start + concurrency).map((id) => raw(mcp, { method: 'DELETE', headers: { 'mcp-session-id': id } })));
      for (const reply of replies) assert.equal(reply.status, 200, reply.body);
    }
  }

  test('the heap after deleting 2 000 sessions is within 2 MB of the heap before, and /readyz still answers', { timeout: 240_000 }, async (t) => {
    // The tools list must be cached and the code warm before the baseline, or they count as a leak.
    await waitFor(() => inspectorUrl !== undefined, eventTimeoutMs, 'the inspector url');
    bulkAgent = new Agent({ keepAlive: true, maxSockets: 25 });
    t.after(() => {
      bulkAgent?.destroy();
      bulkAgent = undefined;
    });
    await deleteSessions(await openSessions(200));
    const before = await heapUsed();

    const ids = await openSessions(2_000);
    const whileOpen = await heapUsed();
    await deleteSessions(ids);
    const afterDelete = await heapUsed();

    const kb = (bytes: number): string => `${(bytes / 1024).toFixed(0)} KB`;
    const report = `heap before ${kb(before)}, with 2 000 open ${kb(whileOpen)}, after deleting ${kb(afterDelete)}`;
    t.diagnostic(report);
    // The measurement can see sessions at all: 2 000 open ones cost something.
    assert.ok(whileOpen - before > 2_000 * 100, `open sessions should show in the heap: ${report}`);
    assert.ok(afterDelete - before < 2 * 1024 * 1024, `deleted sessions left memory behind: ${report}`);
    for (const id of ids.slice(0, 5)) assert.equal((await ping(`${gateway!.url}/mcp`, id)).status, 404);

    const ready = await raw(`${gateway!.url}/readyz`, { method: 'GET' });
    assert.equal(ready.status, 200, ready.body);
  });
});

describe('idle sessions and open streams', () => {
  let gateway: GatewayProcess;
  let mcp: string;
  const idleTimeoutMs = 1_000;
  const keepAliveIntervalMs = 200;

  before(async () => {
    gateway = await startGateway({ sessions: { idleTimeoutMs, keepAliveIntervalMs }, servers: { everything: everythingStdio } });
    mcp = `${gateway.url}/mcp`;
  });

  after(async () => {
    await gateway?.close();
  });

  test('a session left alone is reaped after sessions.idleTimeoutMs and is 404 afterwards, while an active one lives on', async () => {
    const idle = await openSession(mcp);
    // Taken before the idle session's last request, so the gateway's last-seen time is no earlier.
    const lastUseOfIdle = Date.now();
    assert.equal((await ping(mcp, idle)).status, 200);
    const active = await openSession(mcp);
    const reaped = (): boolean => gateway.logs.some((line) => line.msg === 'idle session reaped' && line.session === idle);
    // The active session pings; the idle one is never touched (a request would count as activity).
    for (let pings = 0; !reaped(); pings++) {
      assert.ok(pings < 300, 'the idle session was not reaped within 300 pings of the active one');
      assert.equal((await ping(mcp, active, pings)).status, 200);
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    const reapedLine = gateway.logs.find((line) => line.msg === 'idle session reaped' && line.session === idle)!;
    const idleFor = Date.parse(String(reapedLine.time)) - lastUseOfIdle;
    assert.ok(idleFor >= idleTimeoutMs, `reaped ${idleFor} ms after its last use`);

    assert.equal((await ping(mcp, idle)).status, 404);
    assert.equal((await ping(mcp, active)).status, 200);
    assert.ok(!gateway.logs.some((line) => line.msg === 'idle session reaped' && line.session === active));
  });

  test('idle time counts from the end of the last exchange: a session is not reaped right after a call longer than the timeout', async () => {
    const sessionId = await openSession(mcp);
    const token = 'long';
    const call = await openStream(mcp, {
      method: 'POST',
      headers: { 'content-type': 'application/json', accept: JSON_AND_SSE, 'mcp-session-id': sessionId, 'mcp-protocol-version': LATEST },
      body: JSON.stringify(longRunningCall('long', (2 * idleTimeoutMs) / 1000, 2, token)),
    });
    await call.until(() => call.ended, 'the end of the call');
    assert.ok(call.messages().some(isResponseTo('long')), 'the call answered');
    // Taken after the answer arrived, so at or after the moment the gateway finished the exchange.
    const answeredAt = Date.now();
    const reaped = (): Record<string, unknown> | undefined => gateway.logs.find((line) => line.msg === 'idle session reaped' && line.session === sessionId);
    await waitFor(() => reaped() !== undefined, eventTimeoutMs, 'the session to be reaped once idle');
    const idleFor = Date.parse(String(reaped()!.time)) - answeredAt;
    // The answer reached the test a little after it left the gateway (longer on a loaded machine),
    // so allow half the timeout; a session reaped on the next keep-alive tick is still far below.
    assert.ok(idleFor >= idleTimeoutMs / 2, `reaped ${idleFor} ms after its call was answered; the idle timeout is ${idleTimeoutMs} ms`);
  });

  test('an open GET stream receives ": keepalive" comments and keeps its session from being reaped', async () => {
    const sessionId = await openSession(mcp);
    const stream = await getStream(mcp, sessionId);
    assert.ok(stream instanceof SseConnection, `GET answered ${describeReply(stream)}`);
    try {
      assert.equal(stream.status, 200);
      // Enough comments to outlast the idle timeout: the open stream is activity.
      const wanted = Math.ceil((idleTimeoutMs * 1.5) / keepAliveIntervalMs);
      await stream.until(() => stream.comments.filter((comment) => comment === 'keepalive').length >= wanted, `${wanted} keep-alive comments`);
      assert.ok(!gateway.logs.some((line) => line.msg === 'idle session reaped' && line.session === sessionId), 'a session with an open stream was reaped');
      assert.equal((await ping(mcp, sessionId)).status, 200);
    } finally {
      stream.abort();
    }
  });
});

describe('Streamable HTTP sessions', () => {
  let gateway: GatewayProcess;
  let mcp: string;

  before(async () => {
    gateway = await startGateway({ servers: { everything: everythingStdio } });
    mcp = `${gateway.url}/mcp`;
  });

  after(async () => {
    await gateway?.close();
  });

  test('a POST stream cut mid-call resumes with Last-Event-ID: the rest of the progress and the result arrive on the GET', async () => {
    const sessionId = await openSession(mcp);
    const token = 'resume-me';
    const steps = 6;
    const call = await openStream(mcp, {
      method: 'POST',
      headers: { 'content-type': 'application/json', accept: JSON_AND_SSE, 'mcp-session-id': sessionId, 'mcp-protocol-version': LATEST },
      body: JSON.stringify(longRunningCall('slow', 3, steps, token)),
    });
    assert.equal(call.status, 200);
    // Spec 2025-11-25 §Resumability: the stream starts with an event id to resume from.
    await call.until(() => progressOf(call.messages(), token).length >= 1, 'the first progress notification');
    call.abort();
    const seenBefore = progressOf(call.messages(), token);
    const lastEventId = call.events.at(-1)!.id;
    assert.ok(lastEventId, `events carry ids: ${JSON.stringify(call.events)}`);
    assert.ok(!call.messages().some(isResponseTo('slow')), 'the call should still be running when the stream is cut');

    const resumed = await openStream(mcp, {
      method: 'GET',
      headers: { accept: 'text/event-stream', 'mcp-session-id': sessionId, 'mcp-protocol-version': LATEST, 'last-event-id': lastEventId },
    });
    try {
      await resumed.until(() => resumed.messages().some(isResponseTo('slow')), 'the result on the resumed stream');
      const seenAfter = progressOf(resumed.messages(), token);
      assert.deepEqual([...seenBefore, ...seenAfter], Array.from({ length: steps }, (_, index) => index + 1), 'every progress exactly once, in order');
      const result = resumed.messages().find(isResponseTo('slow'))!;
      assert.match(JSON.stringify(result.result), /Long running operation completed/);
      // The result comes after the last progress notification.
      const order = resumed.messages().map((message) => (message.id === 'slow' ? 'result' : 'progress'));
      assert.equal(order.at(-1), 'result');
    } finally {
      resumed.abort();
    }
  });

  test('a client cut off right after the priming event of a resumed stream still gets every later event', async () => {
    const sessionId = await openSession(mcp);
    const token = 'twice';
    const steps = 6;
    const stepMs = 500;
    const headers = { 'mcp-session-id': sessionId, 'mcp-protocol-version': LATEST };
    const call = await openStream(mcp, {
      method: 'POST',
      headers: { ...headers, 'content-type': 'application/json', accept: JSON_AND_SSE },
      body: JSON.stringify(longRunningCall('twice', (steps * stepMs) / 1000, steps, token)),
    });
    await call.until(() => progressOf(call.messages(), token).length >= 1, 'the first progress notification');
    call.abort();
    const seen = progressOf(call.messages(), token);
    // The client stays away for about two steps, so that the first resumption has stored events to
    // replay. Nothing observable marks that moment on the client side, hence a wait.
    await new Promise((resolve) => setTimeout(resolve, 2.5 * stepMs));
    const firstResume = await openStream(mcp, { method: 'GET', headers: { ...headers, accept: 'text/event-stream', 'last-event-id': call.events.at(-1)!.id! } });
    await firstResume.until(() => firstResume.events.length >= 1, 'the first event of the resumed stream');
    // The client saw only the first event (a priming event or a replayed one) before the network failed.
    const firstEvent = firstResume.events[0]!;
    firstResume.abort();
    if (firstEvent.data.length > 0) seen.push(...progressOf([JSON.parse(firstEvent.data) as Record<string, unknown>], token));
    assert.ok(firstEvent.id, 'the event carries an id');

    const secondResume = await openStream(mcp, { method: 'GET', headers: { ...headers, accept: 'text/event-stream', 'last-event-id': firstEvent.id } });
    try {
      await secondResume.until(() => secondResume.messages().some(isResponseTo('twice')), 'the result on the second resumed stream');
      seen.push(...progressOf(secondResume.messages(), token));
      assert.deepEqual(seen, Array.from({ length: steps }, (_, index) => index + 1), 'every progress exactly once, in order');
    } finally {
      secondResume.abort();
    }
  });

  test('a second GET stream on the same session is refused with 409 while the first is open', async () => {
    const sessionId = await openSession(mcp);
    const first = await getStream(mcp, sessionId);
    assert.ok(first instanceof SseConnection, `first GET answered ${describeReply(first)}`);
    try {
      assert.equal(first.status, 200);
      const second = await getStream(mcp, sessionId);
      if (second instanceof SseConnection) second.abort();
      assert.equal(second.status, 409);
      assert.ok(!first.ended, 'the first stream stays open');
    } finally {
      first.abort();
    }
  });

  test('a session is bound to the endpoint that created it: an id from /servers/everything/mcp is 404 on /mcp and back', async () => {
    const single = `${gateway.url}/servers/everything/mcp`;
    const singleSession = await openSession(single);
    const aggregateSession = await openSession(mcp);
    assert.equal((await ping(single, singleSession)).status, 200);
    assert.equal((await ping(mcp, singleSession)).status, 404);
    assert.equal((await ping(single, aggregateSession)).status, 404);
    const get = await getStream(mcp, singleSession);
    if (get instanceof SseConnection) get.abort();
    assert.equal(get.status, 404);
    assert.equal((await raw(mcp, { method: 'DELETE', headers: { 'mcp-session-id': singleSession } })).status, 404);
    assert.equal((await ping(single, singleSession)).status, 200, 'a refused DELETE elsewhere leaves the session alone');
  });
});

describe('SIGTERM drains in-flight calls', () => {
  let gateway: GatewayProcess;
  let children: ProcessRecord[] = [];

  before(async () => {
    gateway = await startGateway({ servers: { everything: everythingStdio } });
  });

  after(async () => {
    await gateway?.close();
    await killSurvivors(children);
  });

  test('the call in flight completes, new POSTs are refused, the gateway exits 0 and its server processes are gone', async (t) => {
    const mcp = `${gateway.url}/mcp`;
    const sessionId = await openSession(mcp);
    const token = 'drain';
    const call = await openStream(mcp, {
      method: 'POST',
      headers: { 'content-type': 'application/json', accept: JSON_AND_SSE, 'mcp-session-id': sessionId, 'mcp-protocol-version': LATEST },
      body: JSON.stringify(longRunningCall('in-flight', 2, 4, token)),
    });
    await call.until(() => progressOf(call.messages(), token).length >= 1, 'the first progress notification');
    children = await snapshotDescendants(gateway.pid);
    assert.ok(
      children.filter((child) => child.commandLine.includes('server-everything')).length >= 2,
      `expected the shared and the per-session server-everything, found: ${children.map((child) => child.commandLine).join(' | ')}`,
    );

    process.kill(gateway.pid, 'SIGTERM');
    await waitFor(() => gateway.logs.some((line) => line.msg === 'shutting down'), eventTimeoutMs, 'the gateway to begin shutting down');

    // A new POST: refused with 503 on a connection still open, or the listener is already closed, or
    // it went out on an idle keep-alive connection just as the draining server closed it (unread).
    const refused = await post(mcp, sessionId, { jsonrpc: '2.0', id: 'late', method: 'ping' }).then(
      (reply) => String(reply.status),
      (error: NodeJS.ErrnoException) => error.code ?? String(error),
    );
    t.diagnostic(`a POST during the drain got ${refused}`);
    assert.ok(['503', 'ECONNREFUSED', 'ECONNRESET'].includes(refused), `a POST during the drain got ${refused}`);

    await call.until(() => call.messages().some(isResponseTo('in-flight')), 'the in-flight result');
    const result = call.messages().find(isResponseTo('in-flight'))!;
    assert.match(JSON.stringify(result.result), /Long running operation completed/);
    assert.deepEqual(progressOf(call.messages(), token), [1, 2, 3, 4]);

    const exit = await gateway.exited;
    assert.deepEqual(exit, { code: 0, signal: null });
    // The gateway waits for its children before exiting; allow init a moment to reap them.
    for (let attempt = 0; attempt < 100 && (await survivorsOf(children)).length > 0; attempt++) await new Promise((resolve) => setTimeout(resolve, 50));
    assert.deepEqual(await survivorsOf(children), []);
  });
});
