import type { GatewayProcess } from './gateway-process.js';

export interface ApiReply {
  status: number;
  headers: Headers;
  text: string;
  /** Parsed JSON; {} for an empty body. */
  body: Record<string, unknown> & { error?: { code: string; message: string; issues?: { path: string; message: string }[]; [key: string]: unknown } };
}

export type AdminCall = (method: string, path: string, body?: unknown, headers?: Record<string, string>) => Promise<ApiReply>;

/** Calls a running gateway's admin API: JSON bodies on POST/PUT (a string is sent as is), the reply parsed. */
export function admin(gateway: GatewayProcess): AdminCall {
  return async (method, path, body, headers = {}) => {
    const sendsBody = method === 'POST' || method === 'PUT';
    const response = await fetch(`${gateway.url}/admin/api/v1${path}`, {
      method,
      headers: { ...(sendsBody ? { 'content-type': 'application/json' } : {}), ...headers },
      ...(sendsBody ? { body: typeof body === 'string' ? body : JSON.stringify(body ?? {}) } : {}),
    });
    const text = await response.text();
    return { status: response.status, headers: response.headers, text, body: text === '' ? {} : (JSON.parse(text) as ApiReply['body']) };
  };
}
