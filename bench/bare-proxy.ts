// The baseline for "what any HTTP hop costs": a pass-through reverse proxy on node:http that parses
// nothing above HTTP. Request bytes are piped to the target over keep-alive connections, response
// bytes (JSON or SSE) are piped back as they arrive. A gateway's added latency is only its own
// to the extent it exceeds this proxy's.
//
//   node --import tsx bench/bare-proxy.ts --target http://127.0.0.1:PORT [--http] [--port 0]
// prints {"url":"http://127.0.0.1:PORT/mcp"} (the target's path on the proxy's port) when ready.
import { Agent, createServer, request, type IncomingHttpHeaders } from 'node:http';
import { parseArgs } from 'node:util';

const { values } = parseArgs({
  options: {
    target: { type: 'string' },
    port: { type: 'string', default: '0' },
    http: { type: 'boolean', default: true },
  },
  strict: true,
});
if (values.target === undefined) throw new Error('bare-proxy needs --target http://host:port[/path]');
const target = new URL(values.target);
const agent = new Agent({ keepAlive: true, maxSockets: 512, keepAliveMsecs: 30_000 });

// RFC 9110 §7.6.1: connection-specific fields are not forwarded by a proxy.
const hopByHop = new Set(['connection', 'keep-alive', 'proxy-connection', 'transfer-encoding', 'upgrade', 'te', 'trailer']);

function forwardable(headers: IncomingHttpHeaders): IncomingHttpHeaders {
  const result: IncomingHttpHeaders = {};
  for (const [name, value] of Object.entries(headers)) {
    if (!hopByHop.has(name)) result[name] = value;
  }
  return result;
}

const server = createServer({ noDelay: true, keepAliveTimeout: 60_000 }, (req, res) => {
  const upstreamRequest = request(
    {
      host: target.hostname,
      port: target.port,
      method: req.method,
      path: req.url,
      headers: { ...forwardable(req.headers), host: target.host },
      agent,
    },
    (upstreamResponse) => {
      res.writeHead(upstreamResponse.statusCode ?? 502, forwardable(upstreamResponse.headers));
      // A GET opens a standalone SSE stream that may stay silent for minutes: send its headers now.
      // Other replies carry their first bytes at once, and headers go out with them in one write.
      if (req.method === 'GET') res.flushHeaders();
      upstreamResponse.pipe(res);
    },
  );
  upstreamRequest.on('error', (error) => {
    if (res.headersSent) res.destroy(error);
    else res.writeHead(502, { 'content-type': 'text/plain' }).end(`bare-proxy: ${error.message}\n`);
  });
  // A client that goes away (or a cancelled SSE stream) ends the upstream request too.
  res.on('close', () => {
    if (!res.writableFinished) upstreamRequest.destroy();
  });
  req.pipe(upstreamRequest);
});

server.listen(Number(values.port), '127.0.0.1', () => {
  const address = server.address();
  if (address === null || typeof address === 'string') throw new Error('bare-proxy has no TCP address');
  process.stdout.write(`${JSON.stringify({ url: `http://127.0.0.1:${address.port}${target.pathname}` })}\n`);
});
