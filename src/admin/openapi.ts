import { z } from 'zod';
import { GatehouseError, type ErrorCode } from '../core/index.js';
import type { AdminRoute } from './route.js';

/**
 * The OpenAPI 3.1 document of the admin API, generated from the routes and the same zod schemas that
 * parse their requests (CONVENTIONS rule 5), so it cannot describe an API other than the one served.
 * OpenAPI 3.1 schemas are JSON Schema 2020-12, which is what `z.toJSONSchema` writes.
 */

export interface OpenApiOptions {
  /** Where the routes are mounted, e.g. /admin/api/v1. */
  readonly prefix: string;
  /** Names for the components: every request body and response schema of a route must have one. */
  readonly requestSchemas: ReadonlyMap<z.ZodType, string>;
  readonly responseSchemas: ReadonlyMap<z.ZodType, string>;
  readonly errorSchema: z.ZodType;
  readonly tags: readonly { name: string; description: string }[];
}

type JsonObject = Record<string, unknown>;

export function buildOpenApiDocument(routes: readonly AdminRoute[], options: OpenApiOptions): JsonObject {
  const schemas = {
    ...componentSchemas(options.requestSchemas, 'input'),
    ...componentSchemas(new Map([...options.responseSchemas, [options.errorSchema, 'Error']]), 'output'),
  };
  const paths: Record<string, Record<string, JsonObject>> = {};
  for (const route of routes) {
    (paths[route.path] ??= {})[route.method.toLowerCase()] = operation(route, options);
  }
  return {
    openapi: '3.1.0',
    info: {
      title: 'Gatehouse admin API',
      version: '1',
      description:
        'Servers and virtual servers of the Gatehouse registry: register, approve, disable, search, import and export. ' +
        'Request bodies are JSON sent as application/json. Errors are `{"error": {"code", "message", ...}}` with a stable code ' +
        'from the error catalogue. Served on loopback only until authentication arrives; a request whose Origin or Host is not ' +
        'the gateway\'s own is refused with 403 (forbidden_origin) before it reaches a route.',
    },
    servers: [{ url: options.prefix }],
    tags: options.tags,
    paths,
    components: { schemas },
  };
}

function componentSchemas(named: ReadonlyMap<z.ZodType, string>, io: 'input' | 'output'): Record<string, JsonObject> {
  const registry = z.registry<{ id: string }>();
  for (const [schema, id] of named) registry.add(schema, { id });
  const { schemas } = z.toJSONSchema(registry, { io, uri: (id) => `#/components/schemas/${id}` });
  // Components are not standalone documents: their `$id` and `$schema` would only confuse resolvers.
  return Object.fromEntries(
    Object.entries(schemas).map(([id, schema]) => {
      const { $id: _id, $schema: _schema, ...rest } = schema as JsonObject;
      return [id, rest];
    }),
  );
}

function ref(named: ReadonlyMap<z.ZodType, string>, schema: z.ZodType, route: AdminRoute): JsonObject {
  const id = named.get(schema);
  if (id === undefined) throw new Error(`${route.method} ${route.path}: name its schema in the OpenAPI options`);
  return { $ref: `#/components/schemas/${id}` };
}

function operation(route: AdminRoute, options: OpenApiOptions): JsonObject {
  const parameters = [...pathParameters(route.path), ...queryParameters(route)];
  const success: JsonObject = { description: route.success.description };
  if (route.success.schema !== undefined) {
    success.content = { 'application/json': { schema: ref(options.responseSchemas, route.success.schema, route) } };
  }
  const requestBody: JsonObject | undefined =
    route.body !== undefined
      ? { required: true, content: { 'application/json': { schema: ref(options.requestSchemas, route.body, route) } } }
      : route.hasBody
        ? {
            required: false,
            description: 'No body is needed, but the request must still be sent as application/json.',
            content: { 'application/json': { schema: { type: 'object' } } },
          }
        : undefined;
  return {
    operationId: route.operationId,
    summary: route.summary,
    ...(route.description !== undefined ? { description: route.description } : {}),
    tags: [route.tag],
    ...(parameters.length > 0 ? { parameters } : {}),
    ...(requestBody !== undefined ? { requestBody } : {}),
    responses: { [String(route.success.status)]: success, ...errorResponses(route) },
  };
}

function pathParameters(path: string): JsonObject[] {
  return [...path.matchAll(/\{([^}]+)\}/g)].map((match) => ({
    name: match[1],
    in: 'path',
    required: true,
    schema: { type: 'string' },
  }));
}

function queryParameters(route: AdminRoute): JsonObject[] {
  if (route.query === undefined) return [];
  const schema = z.toJSONSchema(route.query, { io: 'input' }) as { properties?: Record<string, JsonObject>; required?: string[] };
  return Object.entries(schema.properties ?? {}).map(([name, property]) => {
    const { description, ...rest } = property;
    return {
      name,
      in: 'query',
      required: (schema.required ?? []).includes(name),
      ...(typeof description === 'string' ? { description } : {}),
      schema: rest,
    };
  });
}

/** The catalogue errors a route may answer, grouped by HTTP status. */
function errorResponses(route: AdminRoute): Record<string, JsonObject> {
  // forbidden_origin is answered by the listener before any route (see the document's description).
  const codes: ErrorCode[] = [];
  if (route.query !== undefined) codes.push('invalid_query');
  if (route.hasBody) codes.push('unsupported_media_type', 'body_too_large', 'parse_error');
  if (route.body !== undefined) codes.push('invalid_body');
  codes.push(...(route.errors ?? []));
  const byStatus = new Map<number, ErrorCode[]>();
  for (const code of codes) {
    const status = new GatehouseError(code).httpStatus;
    byStatus.set(status, [...(byStatus.get(status) ?? []), code]);
  }
  return Object.fromEntries(
    [...byStatus]
      .sort(([a], [b]) => a - b)
      .map(([status, list]) => [
        String(status),
        { description: list.join(', '), content: { 'application/json': { schema: { $ref: '#/components/schemas/Error' } } } },
      ]),
  );
}
