import type { Readable, Writable } from 'node:stream';
import { ANONYMOUS, GatehouseError, lineSplitter, toGatehouseError } from '../core/index.js';
import { errorResponse, type JsonRpcMessage } from '../protocol/index.js';
import type { ClientChannel, SessionView } from '../session/index.js';
import { STDIO_CLIENT } from './client-address.js';
import type { MessageHandler, RelayHooks } from './message-handler.js';
import { ModernRequests } from './modern-requests.js';
import { StreamDriver } from './stream-driver.js';

/**
 * The gateway as a stdio MCP server, for desktop clients that can only spawn processes: one session,
 * newline-delimited JSON on stdin/stdout. Logs go to stderr so stdout stays pure protocol.
 */
export function serveStdio(
  handler: MessageHandler,
  relay: RelayHooks,
  view: SessionView,
  input: Readable,
  output: Writable,
  maxLineBytes: number,
): Promise<void> {
  const write = (data: string): void => {
    output.write(`${data}\n`);
  };
  const channel: ClientChannel = { send: (message: JsonRpcMessage) => write(JSON.stringify(message)), close: () => undefined };
  const driver = new StreamDriver(handler, view, channel, write, undefined, new ModernRequests(handler, relay), ANONYMOUS, STDIO_CLIENT);
  return new Promise((resolve) => {
    input.setEncoding('utf8');
    input.on(
      'data',
      lineSplitter(
        (line) => handleLine(line),
        maxLineBytes,
        () => write(JSON.stringify(errorResponse(null, new GatehouseError('body_too_large').toRpcError()))),
      ),
    );
    input.once('end', () => {
      if (driver.session) handler.close(driver.session);
      resolve();
    });
    const handleLine = (line: string): void => {
      if (line.trim().length === 0) return;
      let parsed: unknown;
      try {
        parsed = JSON.parse(line);
      } catch {
        write(JSON.stringify(errorResponse(null, new GatehouseError('parse_error').toRpcError())));
        return;
      }
      driver.receive(parsed).catch((error: unknown) => {
        const id = typeof parsed === 'object' && parsed !== null && 'id' in parsed ? ((parsed as { id: unknown }).id as string) : null;
        write(JSON.stringify(errorResponse(typeof id === 'string' || typeof id === 'number' ? id : null, toGatehouseError(error).toRpcError())));
      });
    };
  });
}
