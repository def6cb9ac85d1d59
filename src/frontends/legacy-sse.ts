import type { IncomingMessage, ServerResponse } from 'node:http';
import { GatehouseError, randomToken, samePrincipal } from '../core/index.js';
import type { JsonRpcMessage } from '../protocol/index.js';
import type { ClientChannel, SessionView } from '../session/index.js';
import { acceptsSse, isJsonContentType, readJsonBody } from './http-guard.js';
import type { MessageHandler } from './message-handler.js';
import { StreamDriver } from './stream-driver.js';
import { clientAddressOf } from './client-address.js';
import { requestIdentity } from './request-identity.js';

interface LegacyConnection {
  readonly driver: StreamDriver;
  readonly view: SessionView;
}

/**
 * The HTTP+SSE transport of spec 2024-11-05, for old clients: GET /sse opens the stream and names the
 * POST endpoint in an `endpoint` event; every reply travels on the stream.
 */
export class LegacySseFrontend {
  private readonly connections = new Map<string, LegacyConnection>();

  constructor(
    private readonly handler: MessageHandler,
    private readonly options: { maxBodyBytes: number; maxDepth: number },
  ) {}

  open(request: IncomingMessage, response: ServerResponse, view: SessionView, messagesPath: string): void {
    if (request.method !== 'GET') throw new GatehouseError('method_not_allowed');
    if (!acceptsSse(request.headers.accept)) throw new GatehouseError('not_acceptable_sse');
    const id = randomToken(16);
    response.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache, no-transform', 'x-accel-buffering': 'no' });
    const write = (data: string): void => {
      response.write(`event: message\ndata: ${data}\n\n`);
    };
    const channel: ClientChannel = {
      send: (message: JsonRpcMessage) => write(JSON.stringify(message)),
      close: () => response.end(),
    };
    const driver = new StreamDriver(this.handler, view, channel, write, id, undefined, requestIdentity(request), clientAddressOf(request));
    this.connections.set(id, { driver, view });
    response.write(`event: endpoint\ndata: ${messagesPath}?sessionId=${id}\n\n`);
    response.once('close', () => {
      this.connections.delete(id);
      if (driver.session) this.handler.close(driver.session);
    });
  }

  async post(request: IncomingMessage, response: ServerResponse, view: SessionView, query: URLSearchParams): Promise<void> {
    if (request.method !== 'POST') throw new GatehouseError('method_not_allowed');
    const connection = this.connections.get(query.get('sessionId') ?? '');
    if (!connection || connection.view.name !== view.name) throw new GatehouseError('session_not_found');
    const identity = requestIdentity(request);
    if (!samePrincipal(connection.driver.identity, identity)) throw new GatehouseError('session_not_found');
    connection.driver.refreshIdentity(identity);
    if (!isJsonContentType(request.headers['content-type'])) throw new GatehouseError('unsupported_media_type');
    const parsed = await readJsonBody(request, this.options);
    response.writeHead(202).end('Accepted');
    // Replies go down the stream; a failure here has no HTTP response left to carry it, so it is sent there too.
    connection.driver.receive(parsed).catch((error: unknown) => {
      const failure = error instanceof GatehouseError ? error : new GatehouseError('internal');
      connection.driver.session?.send({ jsonrpc: '2.0', id: null, error: failure.toRpcError() });
    });
  }

  closeAll(): void {
    for (const connection of this.connections.values()) if (connection.driver.session) this.handler.close(connection.driver.session);
    this.connections.clear();
  }
}
