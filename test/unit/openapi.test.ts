// The admin API's OpenAPI document: checked in, generated from the same routes and zod schemas that
// serve the API, and complete. The routes are served here by createAdminApi on a loopback listener
// of the test's own (no gateway process), over an in-memory registry.
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, test } from 'node:test';
import { adminRoutes, createAdminApi, openApiDocument, openApiDocumentText, ADMIN_API_PREFIX } from '../../src/admin/index.js';
import { MemoryStore, Registry } from '../../src/registry/index.js';

type Operations = Record<string, Record<string, { operationId: string; responses: Record<string, unknown> }>>;

describe('the admin API OpenAPI document', () => {
  let server: Server;
  let base: string;
  let registry: Registry;

  before(async () => {
    registry = await Registry.open({
      store: new MemoryStore(),
      separator: '__',
      defaultStatus: 'approved',
      stdioRegistration: { enabled: false, allowedCommands: [] },
    });
    const api = createAdminApi({
      registry,
      runtime: () => undefined,
      health: () => new Map(),
      publicUrl: () => 'http://127.0.0.1:1',
      status: () => ({ version: 'test' }),
      maxBodyBytes: 1024,
    });
    server = createServer((request, response) => {
      const url = new URL(request.url ?? '/', 'http://127.0.0.1');
      void api.handle(request, response, url.pathname, url.searchParams);
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}${ADMIN_API_PREFIX}`;
  });

  after(async () => {
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
    await registry.store.close();
  });

  test('the checked-in schema/openapi.json is what the routes generate (run npm run gen:openapi)', async () => {
    const checkedIn = await readFile(new URL('../../schema/openapi.json', import.meta.url), 'utf8');
    assert.equal(checkedIn, openApiDocumentText());
  });

  test('documents every route the API serves, and nothing else', () => {
    const document = openApiDocument() as { openapi: string; paths: Operations };
    assert.equal(document.openapi, '3.1.0');
    const documented = Object.entries(document.paths).flatMap(([path, operations]) => Object.keys(operations).map((method) => `${method.toUpperCase()} ${path}`));
    const served = adminRoutes.map((route) => `${route.method} ${route.path}`);
    assert.deepEqual([...documented].sort(), [...served].sort());
    const ids = adminRoutes.map((route) => route.operationId);
    assert.equal(new Set(ids).size, ids.length, 'operationIds are unique');
  });

  test('every documented $ref resolves to a component', () => {
    const document = openApiDocument() as { components: { schemas: Record<string, unknown> } };
    const refs = [...JSON.stringify(document).matchAll(/"\$ref":"#\/components\/schemas\/([^"]+)"/g)].map((match) => match[1]!);
    assert.ok(refs.length > 0);
    for (const ref of new Set(refs)) assert.ok(ref in document.components.schemas, `missing component ${ref}`);
  });

  test('every documented route answers on its path and method (no 404 route, no 405)', async () => {
    for (const route of adminRoutes) {
      const path = route.path.replaceAll(/\{[^}]+\}/g, 'no-such-name');
      const response = await fetch(`${base}${path}`, {
        method: route.method,
        ...(route.method === 'POST' || route.method === 'PUT' ? { headers: { 'content-type': 'application/json' }, body: '{}' } : {}),
      });
      const body = response.status === 204 ? undefined : ((await response.json()) as { error?: { code: string } });
      assert.notEqual(response.status, 405, `${route.method} ${route.path}`);
      assert.notEqual(body?.error?.code, 'not_found', `${route.method} ${route.path}`);
      assert.ok(response.status < 500, `${route.method} ${route.path}: ${response.status} ${JSON.stringify(body)}`);
    }
  });

  test('an unknown path is 404 not_found; a known path with another method is 405 with Allow', async () => {
    const unknown = await fetch(`${base}/nothing-here`);
    assert.equal(unknown.status, 404);
    assert.equal(((await unknown.json()) as { error: { code: string } }).error.code, 'not_found');
    const wrongMethod = await fetch(`${base}/status`, { method: 'DELETE' });
    assert.equal(wrongMethod.status, 405);
    assert.equal(wrongMethod.headers.get('allow'), 'GET');
    assert.equal(((await wrongMethod.json()) as { error: { code: string } }).error.code, 'method_not_allowed');
  });

  test('a body over maxBodyBytes is 413 body_too_large', async () => {
    const response = await fetch(`${base}/servers`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ name: 'big', url: 'http://127.0.0.1:1/mcp', description: 'x'.repeat(2048) }),
    });
    assert.equal(response.status, 413);
    assert.equal(((await response.json()) as { error: { code: string } }).error.code, 'body_too_large');
  });
});
