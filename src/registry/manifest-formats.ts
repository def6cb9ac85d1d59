import { z } from 'zod';
import { GatehouseError, formatIssues } from '../core/index.js';
import { DOCKER_RUN_VALUED_OPTIONS } from './command-policy-docker.js';
import { SERVER_NAME, endpointsOf, serverSchema, type ServerSpec } from './server-spec.js';

/**
 * Server descriptions in the formats other tools keep them: the official MCP Registry's `server.json`
 * (import and export) and the server lists of Claude Desktop, Cursor and VS Code (export, in
 * manifest-client-config.ts; importing them is config/client-config-import.ts). Pure functions: no I/O.
 *
 * server.json follows modelcontextprotocol/registry docs/reference/server-json (server.schema.json,
 * generic-server-json.md and CHANGELOG.md), schema 2025-12-11.
 */

/** The schema new documents are written against. */
export const SERVER_JSON_SCHEMA_URL = 'https://static.modelcontextprotocol.io/schemas/2025-12-11/server.schema.json';

/**
 * The dated schemas read here: all use camelCase fields and a `transport` on every package. The
 * 2025-07-09 schema (snake_case, `version_detail`) was replaced by 2025-09-16 (registry CHANGELOG,
 * "BREAKING CHANGES: snake_case → camelCase").
 */
export const SERVER_JSON_SCHEMA_VERSIONS: readonly string[] = ['2025-09-16', '2025-09-29', '2025-10-11', '2025-10-17', '2025-12-11'];

// ---------------------------------------------------------------------------------------------------
// server.json, described with zod: only the fields used here; everything else passes through.

const inputFields = {
  description: z.string().optional(),
  isRequired: z.boolean().optional(),
  isSecret: z.boolean().optional(),
  value: z.string().optional(),
  default: z.string().optional(),
};
const inputSchema = z.looseObject(inputFields);
const variablesSchema = z.record(z.string(), inputSchema).optional();
const keyValueInputSchema = z.looseObject({ ...inputFields, variables: variablesSchema, name: z.string().min(1) });
const argumentSchema = z.discriminatedUnion('type', [
  z.looseObject({ ...inputFields, variables: variablesSchema, type: z.literal('positional'), valueHint: z.string().optional() }),
  z.looseObject({ ...inputFields, variables: variablesSchema, type: z.literal('named'), name: z.string().min(1) }),
]);
const packageSchema = z.looseObject({
  registryType: z.string().min(1),
  registryBaseUrl: z.string().optional(),
  identifier: z.string().min(1),
  version: z.string().min(1).optional(),
  runtimeHint: z.string().optional(),
  transport: z.looseObject({ type: z.enum(['stdio', 'streamable-http', 'sse']) }),
  runtimeArguments: z.array(argumentSchema).optional(),
  packageArguments: z.array(argumentSchema).optional(),
  environmentVariables: z.array(keyValueInputSchema).optional(),
});
const remoteSchema = z.looseObject({
  type: z.enum(['streamable-http', 'sse']),
  url: z.string().min(1),
  headers: z.array(keyValueInputSchema).optional(),
  variables: variablesSchema,
});
const serverJsonSchema = z.looseObject({
  $schema: z.string().optional(),
  name: z
    .string()
    .regex(/^[a-zA-Z0-9.-]+\/[a-zA-Z0-9._-]+$/, 'a server.json name is reverse-DNS "namespace/name", e.g. "io.github.owner/weather"'),
  title: z.string().optional(),
  description: z.string().min(1),
  version: z.string().min(1),
  websiteUrl: z.string().optional(),
  packages: z.array(packageSchema).optional(),
  remotes: z.array(remoteSchema).optional(),
});

type Input = z.infer<typeof inputSchema> & { readonly variables?: Record<string, z.infer<typeof inputSchema>> | undefined };
type Argument = z.infer<typeof argumentSchema>;
type Package = z.infer<typeof packageSchema>;
type Remote = z.infer<typeof remoteSchema>;
type ServerJson = z.infer<typeof serverJsonSchema>;

// ---------------------------------------------------------------------------------------------------
// Import

export interface ServerJsonImportOptions {
  /** Use the remote when the document has one (the default); false prefers a package. */
  readonly preferRemote?: boolean;
  /** Which package to run; implies preferring packages unless preferRemote is true. */
  readonly packageIndex?: number;
}

interface CommonFields {
  readonly title?: string;
  readonly description?: string;
  readonly tags: string[];
}

/** What an import produces: a `ServerSpecInput` that the server schema accepts. */
export type ImportedServerSpec =
  | (CommonFields & { readonly transport: 'stdio'; readonly command: string; readonly args: string[]; readonly env: Record<string, string> })
  | (CommonFields & { readonly transport: 'streamable-http' | 'sse'; readonly url: string; readonly headers: Record<string, string> });

export interface ServerJsonImport {
  /** The gateway server name, from the part of the registry name after the "/". */
  readonly name: string;
  readonly spec: ImportedServerSpec;
  /** What needs the operator: placeholders to set, arguments left out, choices made. */
  readonly warnings: string[];
}

type Connection =
  | { readonly transport: 'stdio'; readonly command: string; readonly args: string[]; readonly env: Record<string, string> }
  | { readonly transport: 'streamable-http' | 'sse'; readonly url: string; readonly headers: Record<string, string> };

function invalid(detail: string): GatehouseError {
  return new GatehouseError('invalid_body', detail);
}

/**
 * Turns a registry `server.json` (or the registry API's `{server, _meta}` answer) into a Gatehouse
 * server. The version is recorded as a `version-<version>` tag, so it shows in searches and survives
 * an export back to server.json.
 */
export function fromServerJson(document: unknown, options: ServerJsonImportOptions = {}): ServerJsonImport {
  const warnings: string[] = [];
  const body = unwrapRegistryResponse(document);
  checkSchemaVersion(body, warnings);
  const parsed = serverJsonSchema.safeParse(body, { reportInput: true });
  if (!parsed.success) throw invalid(`server.json is not valid:\n${formatIssues(parsed.error.issues)}`);
  const server = parsed.data;

  const connection = chooseConnection(server, options, warnings);
  const common: { title?: string; description?: string; tags: string[] } = { description: server.description, tags: [versionTag(server.version)] };
  if (server.title !== undefined) common.title = server.title;
  const spec: ImportedServerSpec = { ...connection, ...common };

  const checked = serverSchema.safeParse(spec, { reportInput: true });
  if (!checked.success) throw invalid(`server.json describes a server Gatehouse cannot register:\n${formatIssues(checked.error.issues)}`);
  return { name: gatewayName(server.name), spec, warnings };
}

/** The registry API answers `GET /v0/servers/{name}/versions/{version}` with `{server, _meta}`. */
function unwrapRegistryResponse(document: unknown): unknown {
  if (typeof document !== 'object' || document === null || 'name' in document || !('server' in document)) return document;
  return (document as { server: unknown }).server;
}

const SCHEMA_DATE = /\/schemas\/(\d{4}-\d{2}-\d{2})\/server\.schema\.json$/;

function checkSchemaVersion(body: unknown, warnings: string[]): void {
  if (typeof body !== 'object' || body === null) return;
  const record = body as Record<string, unknown>;
  const schema = typeof record.$schema === 'string' ? record.$schema : undefined;
  const date = schema === undefined ? undefined : SCHEMA_DATE.exec(schema)?.[1];
  const oldest = SERVER_JSON_SCHEMA_VERSIONS[0] as string;
  const snakeCase = 'version_detail' in record || JSON.stringify(record.packages ?? []).includes('"registry_type"') || JSON.stringify(record.remotes ?? []).includes('"transport_type"');
  if ((date !== undefined && date < oldest) || snakeCase) {
    throw invalid(
      `server.json uses the snake_case format of schema 2025-07-09 (registry_type, version_detail, transport_type); ` +
        `Gatehouse reads ${SERVER_JSON_SCHEMA_VERSIONS.join(', ')}: rename the fields to camelCase and give each package a transport.`,
    );
  }
  if (schema === undefined) return;
  if (date === undefined) warnings.push(`$schema "${schema}" is not a dated MCP registry schema; read with the rules of ${SERVER_JSON_SCHEMA_URL}.`);
  else if (!SERVER_JSON_SCHEMA_VERSIONS.includes(date)) {
    warnings.push(`$schema ${date} is not a version Gatehouse knows (${SERVER_JSON_SCHEMA_VERSIONS.join(', ')}); read with the 2025-12-11 rules.`);
  }
}

function chooseConnection(server: ServerJson, options: ServerJsonImportOptions, warnings: string[]): Connection {
  const remotes = server.remotes ?? [];
  const packages = server.packages ?? [];
  const wantsPackage = options.preferRemote === false || (options.packageIndex !== undefined && options.preferRemote !== true);
  if (remotes.length > 0 && (!wantsPackage || packages.length === 0)) {
    if (wantsPackage) warnings.push('server.json lists no packages; using its remote.');
    return remoteConnection(remotes, warnings);
  }
  if (packages.length > 0) {
    if (options.packageIndex !== undefined) {
      const chosen = packages[options.packageIndex];
      if (chosen === undefined) throw invalid(`packageIndex ${options.packageIndex} is out of range: server.json lists ${packages.length} package(s).`);
      return packageConnection(chosen, options.packageIndex, warnings);
    }
    const runnable = packages.findIndex((candidate) => runtimeOf(candidate) !== undefined && candidate.transport.type === 'stdio');
    const index = runnable === -1 ? 0 : runnable;
    return packageConnection(packages[index] as Package, index, warnings);
  }
  const where = server.websiteUrl === undefined ? '' : ` (its setup is described at ${server.websiteUrl})`;
  throw invalid(`server.json lists neither remotes nor packages, so there is nothing Gatehouse can run or reach${where}.`);
}

// ----- Inputs: values, defaults, {variables} and ${PLACEHOLDERS}

/** An environment variable name for a placeholder: `X-API-Key` → `X_API_KEY`. */
export function placeholderName(text: string): string {
  const name = text.toUpperCase().replace(/[^A-Z0-9_]+/g, '_').replace(/^_+|_+$/g, '');
  return /^[A-Z_]/.test(name) ? name : `_${name}`;
}

const TEMPLATE_VARIABLE = /\{([A-Za-z_][A-Za-z0-9_]*)\}/g;

/**
 * server.json "Input.value": identifiers in {curly_braces} are replaced from `variables`; one not in
 * `variables` stays unchanged. A variable with no value or default becomes a `${NAME}` placeholder,
 * which Gatehouse's config loader fills from the environment.
 */
function substitute(template: string, variables: Input['variables'], where: string, warnings: string[]): string {
  return template.replace(TEMPLATE_VARIABLE, (match, variable: string) => {
    const input = variables?.[variable];
    if (input === undefined) return match;
    const fixed = input.value ?? input.default;
    if (fixed !== undefined) return fixed;
    const placeholder = placeholderName(variable);
    warnings.push(`${where}: {${variable}} has no value or default; the server uses \${${placeholder}}, so set ${placeholder} in the gateway's environment${input.isSecret === true ? ' (a secret)' : ''}.`);
    return `\${${placeholder}}`;
  });
}

/** The value an input resolves to; a required input without one becomes a placeholder, an optional one nothing. */
function inputValue(input: Input, where: string, placeholder: string, warnings: string[]): string | undefined {
  const raw = input.value ?? input.default;
  if (raw !== undefined) return substitute(raw, input.variables, where, warnings);
  if (input.isRequired !== true) return undefined;
  warnings.push(`${where} is required and has no value or default; the server uses \${${placeholder}}, so set ${placeholder} in the gateway's environment${input.isSecret === true ? ' (a secret)' : ''}.`);
  return `\${${placeholder}}`;
}

/**
 * Positional arguments are inserted verbatim; named ones as two arguments, `--flag value`, which every
 * argument parser reads (`--flag=value` is not accepted by short options such as docker's `-e`). A
 * named argument without a value is a prompt for one, not a boolean flag (server.json "NamedArgument").
 */
function argumentTokens(argument: Argument, where: string, warnings: string[]): string[] {
  const label = argument.type === 'positional' ? (argument.valueHint ?? 'value') : argument.name;
  const placeholder = placeholderName(argument.type === 'positional' ? label : argument.name.replace(/^-+/, ''));
  const value = inputValue(argument, `${where} (${label})`, placeholder, warnings);
  if (value === undefined) {
    warnings.push(`${where} (${label}) is optional and has no value or default; left out.`);
    return [];
  }
  return argument.type === 'positional' ? [value] : [argument.name, value];
}

function keyValues(inputs: readonly (Input & { name: string })[], where: string, warnings: string[]): Record<string, string> {
  const values: Record<string, string> = {};
  inputs.forEach((input, index) => {
    const value = inputValue(input, `${where}[${index}] ${input.name}`, placeholderName(input.name), warnings);
    if (value !== undefined) values[input.name] = value;
  });
  return values;
}

// ----- Remotes

function remoteConnection(remotes: readonly Remote[], warnings: string[]): Connection {
  // Streamable HTTP is the transport the MCP spec recommends; SSE is its deprecated predecessor.
  const streamable = remotes.findIndex((remote) => remote.type === 'streamable-http');
  const index = streamable === -1 ? 0 : streamable;
  const remote = remotes[index] as Remote;
  const where = `remotes[${index}]`;
  for (const [variable, input] of Object.entries(remote.variables ?? {})) {
    if (remote.url.includes(`{${variable}}`) && input.value === undefined && input.default === undefined) {
      throw invalid(`${where}.url needs {${variable}}${input.description === undefined ? '' : ` (${input.description})`}, which has no value or default; register the server with its URL instead.`);
    }
  }
  const url = substitute(remote.url, remote.variables, `${where}.url`, warnings);
  const unresolved = /\{([A-Za-z_][A-Za-z0-9_]*)\}/.exec(url);
  if (unresolved !== null) throw invalid(`${where}.url uses {${unresolved[1]}}, which its variables do not define.`);
  return { transport: remote.type, url, headers: keyValues(remote.headers ?? [], `${where}.headers`, warnings) };
}

// ----- Packages

type RegistryType = 'npm' | 'pypi' | 'oci';

/** How each registry's packages are run: registry docs "Package Types", with each type's usual runtimeHint. */
const RUNTIMES: Record<RegistryType, string> = { npm: 'npx', pypi: 'uvx', oci: 'docker' };

function runtimeOf(pkg: Package): RegistryType | undefined {
  // "docker" is what early registry examples called OCI images.
  const type = pkg.registryType === 'docker' ? 'oci' : pkg.registryType;
  return type === 'npm' || type === 'pypi' || type === 'oci' ? type : undefined;
}

/** The public registries; another base URL means a private registry Gatehouse cannot reach by name. */
const DEFAULT_REGISTRIES: Record<RegistryType, readonly string[]> = {
  npm: ['https://registry.npmjs.org'],
  pypi: ['https://pypi.org', 'https://pypi.org/simple'],
  oci: ['https://docker.io', 'https://registry-1.docker.io', 'https://index.docker.io'],
};

const NPM_NAME = /^(@[a-z0-9][a-z0-9._~-]*\/)?[a-z0-9][a-z0-9._~-]*$/i;
const PYPI_NAME = /^[A-Za-z0-9]([A-Za-z0-9._-]*[A-Za-z0-9])?$/;
const OCI_REFERENCE = /^[a-z0-9][a-z0-9._/:@-]*$/i;
const EXACT_VERSION = /^[A-Za-z0-9][A-Za-z0-9.+_-]*$/;

function packageConnection(pkg: Package, index: number, warnings: string[]): Connection {
  const where = `packages[${index}]`;
  const type = runtimeOf(pkg);
  if (type === undefined) {
    throw invalid(`${where}.registryType "${pkg.registryType}" is not supported: Gatehouse runs npm packages with npx, pypi packages with uvx and oci images with docker.`);
  }
  if (pkg.transport.type !== 'stdio') {
    throw invalid(`${where}.transport.type is "${pkg.transport.type}": a package that serves HTTP has to be started and then reached at its URL; use the server's remote, or run it yourself and register its URL.`);
  }
  const runtime = RUNTIMES[type];
  if (pkg.runtimeHint !== undefined && pkg.runtimeHint !== runtime) {
    // runtimeArguments are written for the hinted runtime, so they cannot be handed to another one.
    if ((pkg.runtimeArguments ?? []).length > 0) {
      throw invalid(`${where}.runtimeHint "${pkg.runtimeHint}" is not supported with runtimeArguments: Gatehouse runs ${type} packages with ${runtime}.`);
    }
    warnings.push(`${where}.runtimeHint "${pkg.runtimeHint}" is ignored: Gatehouse runs ${type} packages with ${runtime}.`);
  }
  const base = pkg.registryBaseUrl?.replace(/\/+$/, '');
  if (base !== undefined && type !== 'oci' && !DEFAULT_REGISTRIES[type].includes(base)) {
    // npx/uvx would fetch the same name from the public registry: the dependency-confusion mistake.
    throw invalid(`${where}.registryBaseUrl "${pkg.registryBaseUrl}" is a private registry; Gatehouse runs ${type} packages from ${DEFAULT_REGISTRIES[type][0]} only.`);
  }
  if (pkg.version !== undefined && !EXACT_VERSION.test(pkg.version)) throw invalid(`${where}.version "${pkg.version}" is not an exact version.`);

  const runtimeArgs = (pkg.runtimeArguments ?? []).flatMap((argument, at) => argumentTokens(argument, `${where}.runtimeArguments[${at}]`, warnings));
  const packageArgs = (pkg.packageArguments ?? []).flatMap((argument, at) => argumentTokens(argument, `${where}.packageArguments[${at}]`, warnings));
  const env = keyValues(pkg.environmentVariables ?? [], `${where}.environmentVariables`, warnings);

  switch (type) {
    case 'npm': {
      if (!NPM_NAME.test(pkg.identifier)) throw invalid(`${where}.identifier "${pkg.identifier}" is not an npm package name.`);
      const spec = pinned(pkg, where, warnings, '@');
      return { transport: 'stdio', command: 'npx', args: ['-y', ...runtimeArgs, spec, ...packageArgs], env };
    }
    case 'pypi': {
      if (!PYPI_NAME.test(pkg.identifier)) throw invalid(`${where}.identifier "${pkg.identifier}" is not a PyPI package name.`);
      // uv docs, "Using tools": "The command name can include an exact version in the format <package>@<version>".
      const spec = pinned(pkg, where, warnings, '@');
      return { transport: 'stdio', command: 'uvx', args: [...runtimeArgs, spec, ...packageArgs], env };
    }
    case 'oci': {
      const image = ociImage(pkg, where, base, warnings);
      // `docker run -e NAME` passes NAME from the docker CLI's environment into the container.
      const envFlags = Object.keys(env).flatMap((name) => ['-e', name]);
      return { transport: 'stdio', command: 'docker', args: ['run', '-i', '--rm', ...envFlags, ...runtimeArgs, image, ...packageArgs], env };
    }
  }
}

function pinned(pkg: Package, where: string, warnings: string[], separator: string): string {
  if (pkg.version !== undefined) return `${pkg.identifier}${separator}${pkg.version}`;
  warnings.push(`${where} has no version: the server runs whatever version is latest when it starts.`);
  return pkg.identifier;
}

/** Registry CHANGELOG 2025-10-11: an OCI identifier is the full reference, tag or digest included. */
function ociImage(pkg: Package, where: string, base: string | undefined, warnings: string[]): string {
  let image = pkg.identifier;
  if (!OCI_REFERENCE.test(image)) throw invalid(`${where}.identifier "${image}" is not an image reference.`);
  const lastSegment = image.split('/').pop() ?? image;
  if (!image.includes('@') && !lastSegment.includes(':')) {
    if (pkg.version !== undefined) image = `${image}:${pkg.version}`;
    else warnings.push(`${where}.identifier "${image}" has no tag or digest: docker runs :latest.`);
  }
  const firstSegment = image.split('/')[0] ?? '';
  const hasRegistry = image.includes('/') && (firstSegment.includes('.') || firstSegment.includes(':') || firstSegment === 'localhost');
  if (base !== undefined && !DEFAULT_REGISTRIES.oci.includes(base) && !hasRegistry) image = `${new URL(base).host}/${image}`;
  return image;
}

// ----- Names and tags

/** "io.github.owner/weather" → "weather", made to fit a gateway server name. */
function gatewayName(registryName: string): string {
  const last = registryName.slice(registryName.indexOf('/') + 1);
  const name = last
    .replace(/[^A-Za-z0-9_-]+/g, '-')
    .replace(/([_-])\1+/g, '$1')
    .replace(/^[^A-Za-z0-9]+/, '')
    .slice(0, 63)
    .replace(/[_-]+$/, '');
  if (!SERVER_NAME.test(name)) throw invalid(`name "${registryName}": the part after "/" leaves no usable server name.`);
  return name;
}

const VERSION_TAG_PREFIX = 'version-';

function versionTag(version: string): string {
  return `${VERSION_TAG_PREFIX}${version.replace(/[^A-Za-z0-9_.-]/g, '-')}`.slice(0, 63);
}

// ---------------------------------------------------------------------------------------------------
// Export to server.json

const UNVERSIONED = '0.0.0-unversioned';
/** Names that look like credentials, marked isSecret so registry clients mask them. */
const SECRET_NAME = /key|token|secret|password|passwd|auth|credential|cookie|session|private/i;

/**
 * The server.json that describes a server record as faithfully as the format allows: a remote for an
 * HTTP server, a package for a stdio server run with npx, uvx or docker.
 *
 * Environment and header values are never exported, only their names (required, secret when they look
 * like credentials): they are where credentials live, and server.json is written to be published. The
 * working directory is not exported either: it is a path on this host. The registry name's namespace
 * comes from `owner` when it is reverse-DNS, else "local.gatehouse"; a publisher replaces it with the
 * namespace the registry verifies. The version comes from a `version-*` tag or the pinned package.
 */
export function toServerJson(name: string, spec: ServerSpec): Record<string, unknown> {
  const document: Record<string, unknown> = { $schema: SERVER_JSON_SCHEMA_URL, name: `${namespaceOf(spec)}/${name}` };
  if (spec.title !== undefined && spec.title !== '') document.title = truncate(spec.title, 100);
  document.description = truncate(spec.description ?? spec.title ?? `MCP server "${name}"`, 100);
  const taggedVersion = spec.tags.find((tag) => tag.startsWith(VERSION_TAG_PREFIX))?.slice(VERSION_TAG_PREFIX.length);
  if (spec.transport === 'stdio') {
    const { entry, version } = packageEntry(spec);
    document.version = taggedVersion ?? version ?? UNVERSIONED;
    document.packages = [entry];
  } else {
    document.version = taggedVersion ?? UNVERSIONED;
    const headers = Object.keys(spec.headers).map((header) => ({ name: header, isRequired: true, isSecret: true }));
    // Replicas of one server are alternative remotes of it.
    document.remotes = endpointsOf(spec).map((endpoint) => {
      const remote: Record<string, unknown> = { type: spec.transport, url: endpoint.url };
      if (headers.length > 0) remote.headers = headers;
      return remote;
    });
  }
  return document;
}

function namespaceOf(spec: ServerSpec): string {
  return spec.owner !== undefined && /^[a-zA-Z0-9-]+(\.[a-zA-Z0-9-]+)+$/.test(spec.owner) ? spec.owner : 'local.gatehouse';
}

function truncate(text: string, length: number): string {
  return text.length <= length ? text : `${text.slice(0, length - 1)}…`;
}

export type StdioSpec = Extract<ServerSpec, { transport: 'stdio' }>;

function cannotExpress(spec: StdioSpec, why: string): GatehouseError {
  return invalid(`cannot express \`${[spec.command, ...spec.args].join(' ')}\` as server.json: ${why}`);
}

function positional(values: readonly string[]): Array<{ type: 'positional'; value: string }> {
  return values.map((value) => ({ type: 'positional', value }));
}

function packageEntry(spec: StdioSpec): { entry: Record<string, unknown>; version: string | undefined } {
  let entry: Record<string, unknown>;
  let version: string | undefined;
  let packageArguments: string[];
  let runtimeArguments: string[] = [];
  const env = Object.keys(spec.env);
  switch (spec.command) {
    case 'npx': {
      let index = 0;
      while (spec.args[index] === '-y' || spec.args[index] === '--yes') index++;
      if (spec.args[index] === '--') index++;
      const packageSpec = spec.args[index];
      if (packageSpec === undefined || packageSpec.startsWith('-')) throw cannotExpress(spec, 'server.json packages carry no npx options besides -y.');
      const match = /^((?:@[^/@]+\/)?[^@]+)(?:@(.+))?$/.exec(packageSpec);
      const identifier = match?.[1];
      if (identifier === undefined || !NPM_NAME.test(identifier)) throw cannotExpress(spec, `"${packageSpec}" is not an npm registry package.`);
      // server.json versions are exact; a tag or range ("latest", "^1.2") is the same as no pin.
      version = /^\d+\.\d+\.\d+([-+][A-Za-z0-9.+-]+)?$/.test(match?.[2] ?? '') ? match?.[2] : undefined;
      entry = { registryType: 'npm', registryBaseUrl: DEFAULT_REGISTRIES.npm[0], identifier, ...(version === undefined ? {} : { version }), runtimeHint: 'npx' };
      packageArguments = spec.args.slice(index + 1);
      break;
    }
    case 'uvx': {
      const packageSpec = spec.args[0];
      if (packageSpec === undefined || packageSpec.startsWith('-')) throw cannotExpress(spec, 'server.json packages carry no uvx options.');
      const match = /^([A-Za-z0-9][A-Za-z0-9._-]*)(?:(?:@|==)([A-Za-z0-9.+!_-]+))?$/.exec(packageSpec);
      if (match === null) throw cannotExpress(spec, `"${packageSpec}" is not a PyPI package.`);
      version = match[2];
      entry = { registryType: 'pypi', registryBaseUrl: DEFAULT_REGISTRIES.pypi[0], identifier: match[1], ...(version === undefined ? {} : { version }), runtimeHint: 'uvx' };
      packageArguments = spec.args.slice(1);
      break;
    }
    case 'docker': {
      const run = dockerRun(spec);
      entry = { registryType: 'oci', identifier: run.image, runtimeHint: 'docker' };
      runtimeArguments = run.options;
      packageArguments = run.command;
      break;
    }
    default:
      throw cannotExpress(spec, 'server.json describes packages run with npx (npm), uvx (PyPI) or docker (OCI images), and remotes.');
  }
  entry.transport = { type: 'stdio' };
  if (runtimeArguments.length > 0) entry.runtimeArguments = positional(runtimeArguments);
  if (packageArguments.length > 0) entry.packageArguments = positional(packageArguments);
  if (env.length > 0) entry.environmentVariables = env.map((variable) => ({ name: variable, isRequired: true, isSecret: SECRET_NAME.test(variable) }));
  return { entry, version };
}

/**
 * Splits `docker run <options> <image> <command>`. `-i`, `--rm` and `-e NAME` for a variable in env are
 * left out: an import adds them back. Other options travel verbatim as positional runtimeArguments.
 */
function dockerRun(spec: StdioSpec): { options: string[]; image: string; command: string[] } {
  if (spec.args[0] !== 'run') throw cannotExpress(spec, 'only `docker run` describes an OCI package.');
  const options: string[] = [];
  let index = 1;
  while (index < spec.args.length) {
    const token = spec.args[index] as string;
    if (token === '--') {
      index++;
      break;
    }
    if (!token.startsWith('-') || token === '-') break;
    const hasValue = !token.includes('=') && DOCKER_RUN_VALUED_OPTIONS.has(token.startsWith('--') ? token : `-${token.slice(-1)}`);
    const value = hasValue ? spec.args[index + 1] : undefined;
    index += hasValue ? 2 : 1;
    if (token === '-i' || token === '--interactive' || token === '--rm') continue;
    const envName = (token === '-e' || token === '--env') && value !== undefined ? value : /^--env=(.*)$/.exec(token)?.[1];
    if (envName !== undefined && !envName.includes('=') && envName in spec.env) continue;
    options.push(token);
    if (value !== undefined) options.push(value);
  }
  const image = spec.args[index];
  if (image === undefined || !OCI_REFERENCE.test(image)) throw cannotExpress(spec, 'no image reference after the docker run options.');
  return { options, image, command: spec.args.slice(index + 1) };
}
