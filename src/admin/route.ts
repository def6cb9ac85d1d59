import type { z } from 'zod';
import { GatehouseError, formatIssues, type ErrorCode } from '../core/index.js';
import type { AdminDeps } from './admin-deps.js';

export type HttpMethod = 'GET' | 'POST' | 'PUT' | 'DELETE';

/** What a handler answers: a status and, except for 204, a JSON body. */
export interface Reply {
  readonly status: number;
  readonly body?: unknown;
}

export interface RouteInput<Query, Body> {
  readonly params: Readonly<Record<string, string>>;
  readonly query: Query;
  readonly body: Body;
  readonly deps: AdminDeps;
  /** Who is making the change, for the change log. */
  readonly actor: string;
}

/** Documentation of one route, beside its handler, so the OpenAPI document cannot drift from what is served. */
export interface RouteDocs {
  readonly method: HttpMethod;
  /** Relative to the API prefix, with `{name}` placeholders, as OpenAPI writes paths. */
  readonly path: string;
  readonly operationId: string;
  readonly summary: string;
  readonly description?: string;
  readonly tag: string;
  readonly query?: z.ZodObject;
  readonly body?: z.ZodType;
  readonly success: { readonly status: number; readonly description: string; readonly schema?: z.ZodType };
  /** The catalogue errors this route answers besides the ones every route may (400/404/415/413/500). */
  readonly errors?: readonly ErrorCode[];
}

export interface RouteDefinition<Query extends z.ZodObject, Body extends z.ZodType> extends RouteDocs {
  readonly query?: Query;
  readonly body?: Body;
  handle(input: RouteInput<z.output<Query>, z.output<Body>>): Promise<Reply>;
}

/** A route with its types erased: parses raw input with its schemas, then runs the handler. */
export interface AdminRoute extends RouteDocs {
  readonly hasBody: boolean;
  run(raw: { params: Readonly<Record<string, string>>; query: URLSearchParams; body: unknown; deps: AdminDeps; actor: string }): Promise<Reply>;
}

/** Types a handler's query and body from the route's own schemas; the same schemas parse them at run time. */
export function defineRoute<Query extends z.ZodObject, Body extends z.ZodType>(definition: RouteDefinition<Query, Body>): AdminRoute {
  const { handle, ...docs } = definition;
  return {
    ...docs,
    hasBody: definition.body !== undefined || definition.method === 'POST' || definition.method === 'PUT',
    run: async ({ params, query, body, deps, actor }) => {
      const parsedQuery = parseWith(definition.query, Object.fromEntries(query), 'invalid_query');
      const parsedBody = parseWith(definition.body, body, 'invalid_body');
      return handle({ params, query: parsedQuery as z.output<Query>, body: parsedBody as z.output<Body>, deps, actor });
    },
  };
}

function parseWith(schema: z.ZodType | undefined, value: unknown, code: 'invalid_query' | 'invalid_body'): unknown {
  if (schema === undefined) return undefined;
  const parsed = schema.safeParse(value, { reportInput: true });
  if (parsed.success) return parsed.data;
  // The issues go out as data too, so a form can put each message beside its field.
  const issues = parsed.error.issues.flatMap((issue) =>
    issue.code === 'unrecognized_keys'
      ? issue.keys.map((key) => ({ path: [...issue.path, key].join('.'), message: 'not a known field' }))
      : [{ path: issue.path.join('.'), message: issue.message }],
  );
  throw new GatehouseError(code, `\n${formatIssues(parsed.error.issues)}`, { issues });
}

/** A compiled path pattern: literal segments and `{param}` segments. */
export interface RouteMatcher {
  match(path: string): Readonly<Record<string, string>> | undefined;
}

export function compilePath(pattern: string): RouteMatcher {
  const segments = pattern.split('/').slice(1);
  return {
    match(path) {
      const parts = path.split('/').slice(1);
      if (parts.length !== segments.length || !path.startsWith('/')) return undefined;
      const params: Record<string, string> = {};
      for (const [index, segment] of segments.entries()) {
        const part = parts[index]!;
        if (segment.startsWith('{') && segment.endsWith('}')) {
          if (part === '') return undefined;
          try {
            params[segment.slice(1, -1)] = decodeURIComponent(part);
          } catch {
            return undefined; // malformed percent-encoding is no name of ours
          }
        } else if (segment !== part) {
          return undefined;
        }
      }
      return params;
    },
  };
}
