// Where the bench's traced gateway exports its spans: accepts every OTLP/HTTP POST and answers
// success without decoding it, so the bench measures what tracing costs the gateway, not a collector.
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface OtlpSink {
  /** The OTLP/HTTP base URL (exporters append /v1/traces or /v1/logs). */
  readonly url: string;
  /** POSTs received so far. */
  readonly exports: () => number;
  close(): Promise<void>;
}

export async function startOtlpSink(): Promise<OtlpSink> {
  let exports = 0;
  const server = createServer((request, response) => {
    request.resume();
    request.once('end', () => {
      exports++;
      response.writeHead(200, { 'content-type': 'application/json' }).end('{}');
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    exports: () => exports,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
