// Raw HTTP for the end-to-end tests that must control every header and byte the gateway sees, where
// fetch or the SDK client would add, merge or hide some.
import { request as httpRequest, type Agent, type IncomingHttpHeaders, type IncomingMessage } from 'node:http';

export interface RawReply {
  status: number;
  headers: IncomingHttpHeaders;
  body: string;
}

export interface RawRequestOptions {
  /** POST unless given. */
  method?: string;
  headers?: Record<string, string>;
  body?: string | Buffer;
  /** `false`: a fresh connection for this request. Unset: Node's global agent. */
  agent?: Agent | false;
}

/** Reads a whole response: its status, headers and body as UTF-8. */
export function readRawReply(res: IncomingMessage): Promise<RawReply> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    res.on('data', (chunk: Buffer) => chunks.push(chunk));
    res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks).toString('utf8') }));
    res.on('error', reject);
  });
}

/** One raw HTTP request, resolved with the whole reply. */
export function rawRequest(url: string, options: RawRequestOptions): Promise<RawReply> {
  return new Promise((resolve, reject) => {
    const { method = 'POST', headers = {}, body, agent } = options;
    const req = httpRequest(url, agent === undefined ? { method, headers } : { method, headers, agent }, (res) => {
      readRawReply(res).then(resolve, reject);
    });
    req.on('error', reject);
    req.end(body);
  });
}
