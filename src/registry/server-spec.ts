import { z } from 'zod';

/**
 * The registry's records as the config file and the admin API both write them (CONVENTIONS rule 5:
 * one schema for the file, the API bodies, the stored records and the generated documents).
 */

export const SERVER_NAME = /^[A-Za-z0-9][A-Za-z0-9_-]{0,62}$/;
export const SERVER_NAME_RULE = 'a server name is letters, digits, "-" and "_", at most 63 characters';
const TAG = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,62}$/;

export const serverNameSchema = z.string().regex(SERVER_NAME, SERVER_NAME_RULE);


export const circuitBreakerSchema = z
  .strictObject({
    consecutiveFailures: z.number().int().min(0).default(5).describe('Consecutive transport failures or timeouts that open the circuit; 0 turns it off.'),
    failureRate: z.number().min(0).max(1).default(0.5).describe('Share of failed calls among the last `window` that opens it (0 turns this test off).'),
    minimumCalls: z.number().int().min(1).default(20).describe('Calls needed in the window before the rate counts.'),
    window: z.number().int().min(1).default(50),
    openMs: z.number().int().min(100).default(30_000).describe('How long calls fail at once before one trial call goes through.'),
  })
  .describe('Stops calling a server that keeps failing (tool errors do not count: they are answers), then tries it again.');

/** Finagle's RetryBudget and tower's Budget (src/upstreams/retry-budget.ts): the same three numbers. */
export const retryBudgetSchema = z
  .strictObject({
    percent: z
      .number()
      .min(0)
      .max(10)
      .default(0.2)
      .describe('Retries allowed as a share of the requests of the last `windowMs` (0.2: at most 20% more traffic from retries); 0 leaves only the reserve.'),
    minPerSecond: z
      .number()
      .min(0)
      .default(3)
      .describe('A reserve of retries per second on top of the share, so a quiet server can still have one; with percent 0 and this 0, nothing is retried.'),
    windowMs: z.number().int().min(1_000).max(600_000).default(10_000).describe('How far back requests earn retries (and retries count against them).'),
  })
  .describe('Caps the retries of failed requests to a server, so that retries never multiply the load on a server that is already failing.');

export const crashLoopSchema = z
  .strictObject({
    maxRestarts: z.number().int().min(0).default(5).describe('Unplanned exits (crashes, failed starts) tolerated within `windowMs`; one more marks the server down. 0 turns detection off.'),
    windowMs: z.number().int().positive().default(60_000),
    cooldownMs: z.number().int().positive().default(300_000).describe('How long a server in a crash loop stays down (calls fail at once, nothing is spawned) before it is started again.'),
  })
  .describe('Stops restarting a stdio server that keeps crashing: it is reported down ("crash loop") instead of spinning.');

const commonServerFields = {
  title: z.string().optional().describe('Human-readable name shown in lists.'),
  description: z.string().optional(),
  tags: z.array(z.string().regex(TAG, 'a tag is letters, digits, ".", "-" and "_"')).default([]).describe('Labels for search and for virtual-server selection.'),
  owner: z.string().optional().describe('The team or person responsible for this server.'),
  enabled: z.boolean().default(true).describe('A disabled server is kept in the config but not started.'),
  requestTimeoutMs: z.number().int().positive().optional().describe('Overrides upstreamDefaults.requestTimeoutMs.'),
  maxRequestMs: z.number().int().positive().optional().describe('Overrides upstreamDefaults.maxRequestMs.'),
  toolTimeouts: z
    .array(
      z.strictObject({
        tools: z.array(z.string().min(1)).min(1).describe('Tool names or globs ("export_*").'),
        requestTimeoutMs: z.number().int().positive().optional(),
        maxRequestMs: z.number().int().positive().optional(),
      }),
    )
    .default([])
    .describe('Timeouts for some tools of this server (the first entry that matches wins), e.g. long-running exports.'),
  circuitBreaker: circuitBreakerSchema.optional().describe('Overrides upstreamDefaults.circuitBreaker.'),
  retryBudget: retryBudgetSchema.optional().describe('Overrides upstreamDefaults.retryBudget.'),
  fallback: z
    .string()
    .regex(SERVER_NAME, SERVER_NAME_RULE)
    .optional()
    .describe(
      'Another server that serves the same tools: a tool call this server cannot take (its circuit is open, it cannot be reached, or ' +
        'the connection broke under a read-only or idempotent tool) goes to the tool of the same name there, if it has one.',
    ),
  era: z
    .enum(['auto', 'legacy', 'modern'])
    .default('auto')
    .describe(
      'Protocol era toward this server. auto: a session (initialize), falling back to the stateless 2026-07-28 revision when ' +
        'the server is modern-only; legacy: sessions only; modern: 2026-07-28 only (server/discover, no session).',
    ),
};

const stdioServer = z
  .strictObject({
    transport: z.literal('stdio').default('stdio').describe('Inferred from `command` when left out.'),
    command: z.string().min(1).describe('Executable to spawn (no shell is involved).'),
    args: z.array(z.string()).default([]),
    env: z.record(z.string(), z.string()).default({}).describe('Extra environment; only these and a small safe set are passed.'),
    cwd: z.string().optional(),
    isolation: z
      .enum(['shared', 'per-session'])
      .default('per-session')
      .describe(
        'per-session (default): each client session gets its own process, started on its first call, so server-to-client ' +
          'requests, logs and server state never cross between clients. shared: one process serves every client; cheaper, but ' +
          'stdio carries no link between a sampling/elicitation request and the call that caused it, so use it only for ' +
          'servers that make no such requests.',
      ),
    replicas: z
      .number()
      .int()
      .min(1)
      .max(64)
      .optional()
      .describe(
        'A pool of this many processes (implies isolation: shared). Each client session is placed on one process (power of two ' +
          'choices on latency × load) and stays there; when a process dies its sessions move to another and it restarts with backoff.',
      ),
    idleShutdownMs: z
      .number()
      .int()
      .min(0)
      .optional()
      .describe('Overrides upstreamDefaults.idleShutdownMs: a per-session process with no request for this long is stopped (0: never).'),
    maxMemoryMb: z
      .number()
      .int()
      .positive()
      .optional()
      .describe('Overrides upstreamDefaults.maxMemoryMb: a process (with its children) whose resident memory exceeds this is restarted between calls.'),
    crashLoop: crashLoopSchema.optional().describe('Overrides upstreamDefaults.crashLoop.'),
    ...commonServerFields,
  })
  .refine((spec) => spec.replicas === undefined || spec.replicas === 1 || spec.isolation === 'shared', {
    message: 'A pool (`replicas` > 1) shares each process between sessions: leave `isolation` out or set it to shared.',
    path: ['isolation'],
  })
  .describe('A server spawned as a child process, spoken to over stdin/stdout.');

const tokenExchange = z
  .strictObject({
    mode: z.literal('token-exchange'),
    tokenUrl: z.url({ protocol: /^https?$/ }).describe('The token endpoint of the issuer that issued the callers\' tokens.'),
    clientId: z.string().min(1).describe('The gateway\'s client at that issuer, allowed to exchange tokens.'),
    clientSecret: z.string().min(1).describe('Use ${VAR}: kept out of the registry database and masked in the API.'),
    audience: z.string().optional().describe('RFC 8693 audience of the new token, when the issuer wants one.'),
    resource: z.string().optional().describe('RFC 8707 resource of the new token; default: the server\'s url.'),
    scope: z.string().optional(),
  })
  .describe(
    'RFC 8693 token exchange: the caller\'s OAuth access token is exchanged at the issuer for a token for this server, with the ' +
      'caller as subject and the gateway as actor. Callers must come with an OAuth token (not an API key).',
  );

const userOAuth = z
  .strictObject({
    mode: z.literal('oauth'),
    issuer: z
      .url({ protocol: /^https?$/ })
      .optional()
      .describe('The authorization server; its endpoints are discovered (RFC 8414, then OpenID discovery) unless given below.'),
    authorizationUrl: z.url({ protocol: /^https?$/ }).optional(),
    tokenUrl: z.url({ protocol: /^https?$/ }).optional(),
    clientId: z.string().min(1).describe('The gateway\'s client registered at the authorization server.'),
    clientSecret: z.string().min(1).optional().describe('Use ${VAR}; leave out for a public client (PKCE alone).'),
    scope: z.string().optional(),
    resource: z.string().optional().describe('RFC 8707 resource asked for; default: the server\'s url.'),
  })
  .refine((value) => value.issuer !== undefined || (value.authorizationUrl !== undefined && value.tokenUrl !== undefined), {
    message: 'Give `issuer`, or both `authorizationUrl` and `tokenUrl`.',
  })
  .describe(
    'A per-user OAuth connection: each user authorises the gateway once in a browser (authorization code + PKCE, run by the ' +
      'gateway); the gateway keeps their tokens encrypted and refreshes them.',
  );

const userAuthSchema = z.discriminatedUnion('mode', [tokenExchange, userOAuth]);
export type UserAuthSpec = z.output<typeof userAuthSchema>;

const httpUrl = z.url({ protocol: /^https?$/ });

const endpointSchema = z.strictObject({
  url: httpUrl,
  weight: z.number().positive().max(1000).default(1).describe('Relative share of new sessions; 2 takes about twice as many as 1.'),
});

const httpServer = z
  .strictObject({
    transport: z.enum(['streamable-http', 'sse']).default('streamable-http').describe('Inferred as streamable-http from `url` when left out.'),
    url: z.url({ protocol: /^https?$/ }).optional().describe('The server endpoint (Streamable HTTP) or its /sse URL (legacy SSE). Give this or `urls`.'),
    urls: z
      .array(z.union([httpUrl, endpointSchema]))
      .min(1)
      .optional()
      .describe(
        'Several endpoints (replicas) of one server, instead of `url`: a URL, or {url, weight}. Each client session is placed on one ' +
          'replica (power of two choices on latency × load ÷ weight) and stays there; a failing replica is avoided and its sessions ' +
          'move to another.',
      ),
    headers: z.record(z.string(), z.string()).default({}).describe('Sent on every request to this server (credentials live here, never the client\'s).'),
    healthPath: z
      .string()
      .regex(/^\/[^\s]*$/, 'a path starting with /, e.g. /healthz')
      .optional()
      .describe(
        'An HTTP health check on each endpoint (GET <endpoint origin><healthPath>, healthy on 2xx) at every health check, beside the ' +
          'MCP ping. An endpoint that fails it takes no new sessions and its sessions move while another endpoint is healthy.',
      ),
    oauth: z
      .strictObject({
        tokenUrl: z.url({ protocol: /^https?$/ }).describe('The authorization server\'s token endpoint.'),
        clientId: z.string().min(1),
        clientSecret: z.string().min(1).describe('Use ${VAR}: kept out of the registry database and masked in the API.'),
        scope: z.string().optional(),
        resource: z.string().optional().describe('RFC 8707 resource indicator; default: the server\'s url.'),
      })
      .optional()
      .describe('OAuth client credentials the gateway uses to get (and renew) its own token for this server.'),
    userAuth: userAuthSchema
      .optional()
      .describe(
        'Act as the calling user toward this server: its calls carry a token for the user (from RFC 8693 token exchange, or from the ' +
          'user\'s own OAuth connection), never the caller\'s own token. Lists and health checks use `headers`/`oauth`.',
      ),
    forwardIdentity: z
      .boolean()
      .default(false)
      .describe(
        'Send the caller\'s identity as X-Gatehouse-User, -User-Name, -Groups, -Team and -Roles headers (URL-encoded) on its session\'s ' +
          'requests. Never the caller\'s credentials. The shared connection used for lists and health sends none.',
      ),
    ...commonServerFields,
  })
  .refine((spec) => (spec.url === undefined) !== (spec.urls === undefined), { message: 'Give either `url` or `urls`, not both and not neither.', path: ['url'] })
  .refine((spec) => spec.urls === undefined || new Set(spec.urls.map(endpointUrl)).size === spec.urls.length, {
    message: 'Each URL may appear once in `urls`.',
    path: ['urls'],
  })
  .describe('A server reached over HTTP.');

type HttpServerSpec = z.output<typeof httpServer>;
export type EndpointSpec = z.output<typeof endpointSchema>;

function endpointUrl(entry: string | EndpointSpec): string {
  return typeof entry === 'string' ? entry : entry.url;
}

/** An HTTP server's endpoints, in order, each with its weight (1 unless given). */
export function endpointsOf(spec: Pick<HttpServerSpec, 'url' | 'urls'>): EndpointSpec[] {
  if (spec.urls === undefined) return [{ url: spec.url!, weight: 1 }];
  return spec.urls.map((entry) => (typeof entry === 'string' ? { url: entry, weight: 1 } : entry));
}

/** The URL that stands for the server where one is needed (OAuth resource defaults, client configs): its first. */
export function primaryUrlOf(spec: Pick<HttpServerSpec, 'url' | 'urls'>): string {
  return spec.url ?? endpointUrl(spec.urls![0]!);
}

/**
 * `transport` may be left out: `command` means stdio, `url` means Streamable HTTP. A stdio pool
 * (`replicas` > 1) without `isolation` is shared: the per-session default cannot hold for a pool.
 */
export const serverSchema = z.preprocess(
  (value) => {
    if (typeof value !== 'object' || value === null || Array.isArray(value)) return value;
    const pool = 'command' in value && 'replicas' in value && typeof value.replicas === 'number' && value.replicas > 1 && !('isolation' in value);
    const spec: object = pool ? { ...value, isolation: 'shared' } : value;
    if ('transport' in spec) return spec;
    if ('command' in spec) return { ...spec, transport: 'stdio' };
    if ('url' in spec || 'urls' in spec) return { ...spec, transport: 'streamable-http' };
    return spec;
  },
  z.discriminatedUnion('transport', [stdioServer, httpServer]),
);


export type ServerSpec = z.output<typeof serverSchema>;
export type ServerSpecInput = z.input<typeof serverSchema>;

/** Where a server may be in its life in the catalog. Only approved servers are started and served. */
export const serverStatusSchema = z
  .enum(['pending', 'approved', 'disabled'])
  .describe('pending: registered, waiting for approval, not served; approved: served; disabled: kept but not served.');
export type ServerStatus = z.output<typeof serverStatusSchema>;

const selectorFields = {
  server: z.string().min(1).default('*').describe('A server name or glob ("github", "git*"); "*" is every server.'),
  tag: z.string().optional().describe('Only servers carrying this tag.'),
};

const nameSelector = z
  .strictObject({
    ...selectorFields,
    name: z.string().min(1).default('*').describe('A tool or prompt name or glob ("get_*").'),
    as: z.string().regex(/^[A-Za-z0-9_.-]{1,64}$/).optional().describe('Exposes the item under this name (only with an exact `name`).'),
    description: z.string().optional().describe('Replaces the description the server gives.'),
  })
  .refine((selector) => selector.as === undefined || !/[*?[\]{}]/.test(selector.name), {
    message: '`as` renames one item: give an exact `name`, not a glob',
    path: ['as'],
  });

const uriSelector = z.strictObject({
  ...selectorFields,
  uri: z.string().min(1).default('**').describe('A resource URI or URI template, or a glob over them ("file:///docs/**").'),
});

export const virtualServerSchema = z
  .strictObject({
    title: z.string().optional(),
    description: z.string().optional(),
    owner: z.string().optional(),
    tags: z.array(z.string().regex(TAG)).default([]),
    enabled: z.boolean().default(true),
    tools: z.array(nameSelector).default([]).describe('Which tools this endpoint serves; nothing is served unless selected.'),
    prompts: z.array(nameSelector).default([]),
    resources: z.array(uriSelector).default([]).describe('Which resources and resource templates this endpoint serves.'),
  })
  .describe('A curated endpoint at /servers/<name>/mcp: a selection of tools, prompts and resources from one or more servers.');

export type VirtualServerSpec = z.output<typeof virtualServerSchema>;
export type NameSelector = VirtualServerSpec['tools'][number];
export type UriSelector = VirtualServerSpec['resources'][number];

/**
 * A policy as the config file (`auth.policies`) and the admin API (`/policies`) both write it. Whether
 * `when` is valid CEL is checked by each of them (config/schema.ts, registry.ts): a zod refinement here
 * would report it twice in the config.
 */
export const policySchema = z
  .strictObject({
    description: z.string().optional(),
    effect: z.enum(['allow', 'deny']).default('allow').describe('deny wins over allow.'),
    who: z
      .strictObject({
        users: z.array(z.string()).default([]).describe('User ids (the token\'s user claim).'),
        groups: z.array(z.string()).default([]),
        teams: z.array(z.string()).default([]),
        roles: z.array(z.string()).default([]).describe('Roles of an API key, or from the token\'s roles claim.'),
        keys: z.array(z.string()).default([]).describe('API key ids.'),
      })
      .optional()
      .describe('Whom the policy is for: anyone matching one entry. Left out: everyone, anonymous callers included.'),
    servers: z
      .array(z.string().min(1))
      .default(['*'])
      .describe('Servers (and virtual servers, whose endpoint the call came through) the policy covers; globs.'),
    tools: z.array(z.string()).optional().describe('Tool names (globs). A policy naming none of tools, prompts and resources covers all three; one naming some covers only those.'),
    prompts: z.array(z.string()).optional().describe('Prompt names (globs).'),
    resources: z.array(z.string()).optional().describe('Resource URIs and URI templates (globs; ** crosses "/").'),
    when: z
      .string()
      .min(1)
      .optional()
      .describe(
        'A CEL condition on the call, e.g. "args.path.startsWith(\'/srv/public/\')" or "args.repo in [\'acme/web\']"; ' +
          'variables: args, name, server, kind, user {id, name, groups, team, roles}. A conditional allow still lists the item; ' +
          'calls whose arguments fail it are refused. A condition that cannot be evaluated counts as false.',
      ),
  })
  .describe('Who may use which tools, prompts and resources. Once any policy exists, what no policy allows is denied.');

export type PolicySpec = z.output<typeof policySchema>;
export type PolicySpecInput = z.input<typeof policySchema>;
