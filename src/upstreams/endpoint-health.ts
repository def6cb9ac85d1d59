import type { Pool } from 'undici';
import type { UpstreamClient } from './upstream-client.js';

/*
 * The two ways an endpoint's health is checked: its HTTP health path (`healthPath`), which needs no
 * MCP session and so works for every replica, and an MCP ping on a connection placed on it.
 * Each resolves with why it failed, or undefined when healthy; neither throws.
 */

/** GET `path` on the endpoint's origin through its own keep-alive pool; healthy on 2xx. */
export async function httpHealthFailure(pool: Pool, path: string, timeoutMs: number): Promise<string | undefined> {
  try {
    const { statusCode, body } = await pool.request({ method: 'GET', path, headersTimeout: timeoutMs, bodyTimeout: timeoutMs });
    await body.dump();
    return statusCode >= 200 && statusCode < 300 ? undefined : `health check GET ${path} answered ${statusCode}`;
  } catch (error) {
    return `health check GET ${path} failed: ${error instanceof Error ? error.message : String(error)}`;
  }
}

/** An MCP ping (spec §Ping); a JSON-RPC error, a timeout or a broken connection is a failure. */
export async function pingFailure(client: UpstreamClient, timeoutMs: number): Promise<string | undefined> {
  try {
    const response = await client.request('ping', undefined, { timeoutMs, idempotent: true });
    return 'error' in response ? `ping answered with an error: ${response.error.message}` : undefined;
  } catch (error) {
    return `ping failed: ${error instanceof Error ? error.message : String(error)}`;
  }
}
