// The load generator's MCP client: just enough of Streamable HTTP to open a session and time calls.
// Hand-written on an undici Pool rather than the SDK Client so the client side costs the same, and
// as little as possible, for every target; it still checks every reply, so a target that answers
// fast but wrong cannot win.
import { Pool } from 'undici';

export const protocolVersion = '2025-11-25';

export interface Endpoint {
  /** Full URL of the MCP endpoint, e.g. http://127.0.0.1:PORT/mcp. */
  url: string;
  /** Name of the echo tool at this endpoint (`echo`, or `bench__echo` through an aggregating gateway). */
  echoTool: string;
}

export class McpProtocolError extends Error {}

interface JsonRpcResponse {
  jsonrpc: '2.0';
  id: number | string | null;
  result?: unknown;
  error?: { code: number; message: string };
}

/** One pool per origin, kept alive across calls like a real long-lived agent process. */
export function createPool(url: string, connections: number): Pool {
  return new Pool(new URL(url).origin, {
    connections,
    pipelining: 1,
    keepAliveTimeout: 60_000,
    keepAliveMaxTimeout: 600_000,
    headersTimeout: 30_000,
    bodyTimeout: 30_000,
  });
}

export class McpHttpSession {
  readonly #pool: Pool;
  readonly #path: string;
  readonly #echoTool: string;
  #headers: Record<string, string> = { 'content-type': 'application/json', accept: 'application/json, text/event-stream' };
  #nextId = 1;
  sessionId: string | undefined;

  constructor(pool: Pool, endpoint: Endpoint) {
    this.#pool = pool;
    const url = new URL(endpoint.url);
    this.#path = url.pathname + url.search;
    this.#echoTool = endpoint.echoTool;
  }

  /** initialize, then notifications/initialized: the handshake every client does once. */
  async open(): Promise<void> {
    const { response, sessionId } = await this.#request('initialize', {
      protocolVersion,
      capabilities: {},
      clientInfo: { name: 'gatehouse-bench', version: '1.0.0' },
    });
    const result = response.result as { protocolVersion?: unknown } | undefined;
    if (typeof result?.protocolVersion !== 'string') throw new McpProtocolError('initialize result has no protocolVersion');
    this.sessionId = sessionId;
    this.#headers = {
      ...this.#headers,
      'mcp-protocol-version': result.protocolVersion,
      ...(sessionId === undefined ? {} : { 'mcp-session-id': sessionId }),
    };
    const { statusCode, body } = await this.#pool.request({
      method: 'POST',
      path: this.#path,
      headers: this.#headers,
      body: JSON.stringify({ jsonrpc: '2.0', method: 'notifications/initialized' }),
    });
    await body.dump();
    if (statusCode !== 202 && statusCode !== 200 && statusCode !== 204) {
      throw new McpProtocolError(`notifications/initialized answered HTTP ${statusCode}`);
    }
  }

  /** Calls echo with `text` and fails unless the reply carries exactly that text. */
  async echo(text: string): Promise<void> {
    const { response } = await this.#request('tools/call', { name: this.#echoTool, arguments: { text } });
    const result = response.result as { content?: Array<{ type?: unknown; text?: unknown }>; isError?: unknown } | undefined;
    const first = result?.content?.[0];
    if (result?.isError === true || first?.type !== 'text' || first.text !== text) {
      throw new McpProtocolError(`echo reply does not carry the sent text: ${JSON.stringify(response).slice(0, 300)}`);
    }
  }

  /** Calls tools/list and returns the tool names and the reply size in bytes. */
  async listTools(): Promise<{ names: string[]; bytes: number }> {
    const { response, bytes } = await this.#request('tools/list', {});
    const result = response.result as { tools?: Array<{ name?: unknown }> } | undefined;
    if (!Array.isArray(result?.tools)) throw new McpProtocolError('tools/list result has no tools array');
    return { names: result.tools.map((tool) => String(tool.name)), bytes };
  }

  /** Ends the session (DELETE), as a well-behaved client does. */
  async close(): Promise<void> {
    if (this.sessionId === undefined) return;
    const { body } = await this.#pool.request({ method: 'DELETE', path: this.#path, headers: this.#headers });
    await body.dump();
    this.sessionId = undefined;
  }

  async #request(method: string, params: unknown): Promise<{ response: JsonRpcResponse; sessionId: string | undefined; bytes: number }> {
    const id = this.#nextId++;
    const { statusCode, headers, body } = await this.#pool.request({
      method: 'POST',
      path: this.#path,
      headers: this.#headers,
      body: JSON.stringify({ jsonrpc: '2.0', id, method, params }),
    });
    const text = await body.text();
    if (statusCode !== 200) throw new McpProtocolError(`${method} answered HTTP ${statusCode}: ${text.slice(0, 300)}`);
    const contentType = String(headers['content-type'] ?? '');
    const response = contentType.startsWith('text/event-stream') ? responseFromSse(text, id) : responseFromJson(text, id);
    if (response.error !== undefined) throw new McpProtocolError(`${method} failed: ${response.error.code} ${response.error.message}`);
    const sessionHeader = headers['mcp-session-id'];
    return { response, sessionId: typeof sessionHeader === 'string' ? sessionHeader : undefined, bytes: Buffer.byteLength(text) };
  }
}

function isResponseTo(message: unknown, id: number): message is JsonRpcResponse {
  return typeof message === 'object' && message !== null && (message as { id?: unknown }).id === id;
}

function responseFromJson(text: string, id: number): JsonRpcResponse {
  const parsed: unknown = JSON.parse(text);
  const response = Array.isArray(parsed) ? parsed.find((message) => isResponseTo(message, id)) : parsed;
  if (!isResponseTo(response, id)) throw new McpProtocolError(`no response with id ${id} in ${text.slice(0, 300)}`);
  return response;
}

/** Finds the response among the events of an SSE body (data lines of one event are joined by \n). */
function responseFromSse(text: string, id: number): JsonRpcResponse {
  let data: string[] = [];
  const lines = text.split(/\r\n|\r|\n/);
  lines.push('');
  for (const line of lines) {
    if (line === '') {
      const payload = data.join('\n');
      // Skip events without a payload, e.g. the priming event servers with an event store send first.
      if (payload.trim() !== '') {
        const message: unknown = JSON.parse(payload);
        if (isResponseTo(message, id)) return message;
      }
      data = [];
    } else if (line.startsWith('data:')) {
      data.push(line.slice(line.startsWith('data: ') ? 6 : 5));
    }
  }
  throw new McpProtocolError(`no response with id ${id} in SSE body ${text.slice(0, 300)}`);
}
