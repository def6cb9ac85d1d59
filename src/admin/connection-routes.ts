import type { IncomingMessage, ServerResponse } from 'node:http';
import { GatehouseError, readBody, toGatehouseError, type Identity } from '../core/index.js';
import { CALLBACK_PATH, START_PATH, type UserConnections } from '../registry/index.js';
import { sendError, sendJson } from './http-io.js';

export interface ConnectionRoutesDeps {
  readonly connections: UserConnections;
  /** The servers users connect to with OAuth (`userAuth.mode: oauth`), by name. */
  readonly oauthServers: () => readonly string[];
  /** Who made a request (the HTTP edge authenticated it). */
  readonly identityOf: (request: IncomingMessage) => Identity;
  /** The gateway's public base URL; a confirmation must come from a page of this origin. */
  readonly publicUrl: () => string;
  readonly flowTimeoutMs: number;
}

/** Routes shaped like the HTTP server's extra routes (app.ts adds how they are authenticated). */
export interface PlainRoutes {
  readonly prefix: string;
  handle(request: IncomingMessage, response: ServerResponse, path: string, query: URLSearchParams): Promise<void>;
}

export const CONNECTIONS_PREFIX = '/connections';
const FORM_LIMIT_BYTES = 4096;

/**
 * The caller's own connections to servers that act as the user: `GET /connections` lists them with
 * every server that offers one, `POST /connections/<server>` starts one (the answer's `url` is for the
 * user's browser), `DELETE /connections/<server>` forgets one. Authenticated like MCP requests.
 */
export function connectionApiRoutes(deps: ConnectionRoutesDeps): PlainRoutes {
  return {
    prefix: CONNECTIONS_PREFIX,
    async handle(request, response, path) {
      try {
        const identity = deps.identityOf(request);
        const rest = path.slice(CONNECTIONS_PREFIX.length);
        if (rest === '' || rest === '/') {
          if (request.method !== 'GET') throw new GatehouseError('method_not_allowed');
          const connected = new Map((await deps.connections.list(identity.subject)).map((record) => [record.server, record]));
          const connections = deps.oauthServers().map((server) => {
            const record = connected.get(server);
            return record === undefined ? { server, connected: false } : { server, connected: true, createdAt: record.createdAt, updatedAt: record.updatedAt };
          });
          sendJson(response, 200, { connections });
          return;
        }
        const server = decodeURIComponent(rest.slice(1));
        if (server.includes('/')) throw new GatehouseError('not_found');
        if (request.method === 'POST') {
          const flow = await deps.connections.begin(server, identity);
          sendJson(response, 201, { server, url: flow.url, expiresAt: flow.expiresAt });
        } else if (request.method === 'DELETE') {
          await deps.connections.remove(server, identity.subject);
          sendJson(response, 204, undefined);
        } else {
          throw new GatehouseError('method_not_allowed');
        }
      } catch (error) {
        sendError(response, error);
      }
    },
  };
}

/**
 * The browser's side of a connection, without the caller's token (a browser has none): the start page
 * that names the account and binds the flow to this browser, and the provider's redirect back. The
 * flow's random `state` is the capability; the cookie set on confirmation proves the same browser
 * comes back.
 */
export function connectionBrowserRoutes(deps: ConnectionRoutesDeps): PlainRoutes {
  return {
    prefix: '/oauth/',
    async handle(request, response, path, query) {
      try {
        if (path === START_PATH && request.method === 'GET') return await startPage(deps, response, query.get('state') ?? '');
        if (path === START_PATH && request.method === 'POST') return await confirm(deps, request, response);
        if (path === CALLBACK_PATH && request.method === 'GET') return await callback(deps, request, response, query);
        throw new GatehouseError(path === START_PATH || path === CALLBACK_PATH ? 'method_not_allowed' : 'not_found');
      } catch (error) {
        const failure = toGatehouseError(error);
        sendPage(response, failure.httpStatus === 200 ? 400 : failure.httpStatus, 'Not connected', `<p>${escapeHtml(failure.message)}</p>`);
      }
    },
  };
}

async function startPage(deps: ConnectionRoutesDeps, response: ServerResponse, state: string): Promise<void> {
  const flow = await deps.connections.describe(state);
  sendPage(
    response,
    200,
    `Connect ${flow.server}`,
    `<p>Gatehouse will act as you toward <strong>${escapeHtml(flow.server)}</strong> for the Gatehouse account ` +
      `<strong>${escapeHtml(flow.user)}</strong>.</p>` +
      `<p>If that is not your account, or you did not ask for this, close this page.</p>` +
      `<form method="post" action="${START_PATH}"><input type="hidden" name="state" value="${escapeHtml(state)}">` +
      `<button type="submit">Continue to sign in</button></form>`,
  );
}

async function confirm(deps: ConnectionRoutesDeps, request: IncomingMessage, response: ServerResponse): Promise<void> {
  // Login CSRF: only a form on the gateway's own page may confirm (browsers always send Origin on a POST).
  const origin = request.headers.origin;
  if (origin !== undefined && origin !== new URL(deps.publicUrl()).origin) {
    throw new GatehouseError('forbidden_origin', 'Confirm the connection on the gateway\'s own page.');
  }
  const state = new URLSearchParams((await readBody(request, FORM_LIMIT_BYTES)).toString('utf8')).get('state') ?? '';
  const { redirect, binding } = await deps.connections.confirm(state);
  const secure = deps.publicUrl().startsWith('https:') ? '; Secure' : '';
  response
    .writeHead(303, {
      location: redirect,
      'set-cookie': `${cookieName(state)}=${binding}; Path=/oauth; HttpOnly; SameSite=Lax; Max-Age=${Math.ceil(deps.flowTimeoutMs / 1000)}${secure}`,
      'cache-control': 'no-store',
    })
    .end();
}

async function callback(deps: ConnectionRoutesDeps, request: IncomingMessage, response: ServerResponse, query: URLSearchParams): Promise<void> {
  const state = query.get('state') ?? '';
  const clear = `${cookieName(state)}=; Path=/oauth; HttpOnly; SameSite=Lax; Max-Age=0`;
  const error = query.get('error');
  if (error !== null) {
    await deps.connections.abandon(state);
    response.setHeader('set-cookie', clear);
    sendPage(response, 400, 'Not connected', `<p>The sign-in did not complete (${escapeHtml(error.slice(0, 100))}). Start again from your MCP client.</p>`);
    return;
  }
  const binding = cookieValue(request.headers.cookie, cookieName(state));
  const { server } = await deps.connections.complete(state, query.get('code') ?? '', binding);
  response.setHeader('set-cookie', clear);
  sendPage(response, 200, `Connected to ${server}`, `<p>Your account for <strong>${escapeHtml(server)}</strong> is connected. You can close this window and call again.</p>`);
}

/** One cookie per flow, so two connections started side by side in one browser do not clash. */
function cookieName(state: string): string {
  return `gatehouse_oauth_${state.slice(0, 12).replace(/[^A-Za-z0-9]/g, '')}`;
}

function cookieValue(header: string | undefined, name: string): string | undefined {
  for (const part of (header ?? '').split(';')) {
    const at = part.indexOf('=');
    if (at !== -1 && part.slice(0, at).trim() === name) return part.slice(at + 1).trim();
  }
  return undefined;
}

function sendPage(response: ServerResponse, status: number, title: string, body: string): void {
  if (response.headersSent) {
    response.end();
    return;
  }
  response
    .writeHead(status, {
      'content-type': 'text/html; charset=utf-8',
      'cache-control': 'no-store',
      'x-content-type-options': 'nosniff',
      // Never framed (clickjacking of the Continue button), no scripts at all.
      'x-frame-options': 'DENY',
      'content-security-policy': "default-src 'none'; style-src 'unsafe-inline'; form-action 'self' http: https:; frame-ancestors 'none'",
      'referrer-policy': 'no-referrer',
    })
    .end(
      `<!doctype html><html><head><meta charset="utf-8"><title>${escapeHtml(title)} · Gatehouse</title>` +
        '<style>body{font:16px system-ui,sans-serif;max-width:36em;margin:4em auto;padding:0 1em}button{font-size:1em;padding:.5em 1em}</style>' +
        `</head><body><h1>${escapeHtml(title)}</h1>${body}</body></html>`,
    );
}

function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (character) => `&#${character.charCodeAt(0)};`);
}
