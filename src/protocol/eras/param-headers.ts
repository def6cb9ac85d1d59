import { decodeHeaderValue, encodeHeaderValue } from './standard-headers.js';
import { isJsonObject, type JsonObject } from './types.js';

/** Spec 2026-07-28 streamable-http §Custom Headers from Tool Parameters (SEP-2243). */
const X_MCP_HEADER = 'x-mcp-header';

/**
 * The `Mcp-Param-{Name}` headers a 2026-07-28 request to `tools/call` must carry: one per argument
 * whose schema property (reachable through `properties` only) declares `x-mcp-header`, with the value
 * as text (base64-wrapped when it is not plain header text). Keys are lower-case header names.
 * The gateway rebuilds them from the arguments rather than copying the client's, so a session-era
 * client (which never sends them) reaches such a server too, and a renamed tool still matches.
 */
export function paramHeadersFor(inputSchema: unknown, args: unknown): Record<string, string> {
  const headers: Record<string, string> = {};
  const visit = (schema: unknown, value: unknown): void => {
    if (!isJsonObject(schema)) return;
    const declared = schema[X_MCP_HEADER];
    if (typeof declared === 'string' && declared.length > 0) {
      const text = primitiveText(value);
      // An empty value is base64-wrapped, as the SDK does: an empty header is easily lost on the way.
      if (text !== undefined) headers[`mcp-param-${declared.toLowerCase()}`] = text === '' ? '=?base64??=' : encodeHeaderValue(text);
    }
    const properties = schema.properties;
    if (!isJsonObject(properties) || !isJsonObject(value)) return;
    for (const [key, child] of Object.entries(properties)) visit(child, (value as JsonObject)[key]);
  };
  if (isJsonObject(inputSchema) && isJsonObject(inputSchema.properties) && isJsonObject(args)) {
    for (const [key, child] of Object.entries(inputSchema.properties)) visit(child, args[key]);
  }
  return headers;
}

function primitiveText(value: unknown): string | undefined {
  if (typeof value === 'string') return value;
  if (typeof value === 'boolean') return value ? 'true' : 'false';
  if (typeof value === 'number' && Number.isFinite(value) && (!Number.isInteger(value) || Number.isSafeInteger(value))) return String(value);
  return undefined;
}

/**
 * §Server Validation of `Mcp-Param-*`: each header the tool declares must be present when its
 * argument is, and carry the argument's value (after decoding). Returns what is wrong, or undefined.
 */
export function checkParamHeaders(inputSchema: unknown, args: unknown, received: Readonly<Record<string, string>>): string | undefined {
  const expected = paramHeadersFor(inputSchema, args);
  for (const [name, value] of Object.entries(expected)) {
    const got = received[name];
    if (got === undefined) return `the ${name} header is missing`;
    if (!/^[\x20-\x7E\t]*$/.test(got)) return `the ${name} header has characters a header may not carry`;
    const decoded = decodeHeaderValue(got.trim());
    if (decoded === undefined || decoded !== decodeHeaderValue(value)) return `the ${name} header does not match the argument`;
  }
  return undefined;
}
