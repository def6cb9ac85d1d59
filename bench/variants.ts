// Gateway configurations the bench measures beside the default one, each in the same interleaved
// rounds, so that what a feature costs per call is a ratio taken under the same machine conditions.

export interface GatewayVariant {
  /** The target's name in the tables: `gateway-<name>`. */
  readonly name: string;
  /** What the comparison shows, printed above its table. */
  readonly title: string;
  /** The target this one is compared with, and which of the two has the feature on. */
  readonly compare: { readonly with: 'gateway'; readonly featureOn: 'variant' | 'gateway' };
  /** YAML after `listen:`. */
  config(upstreamUrl: string, sinkUrl: string): string[];
}

const benchServer = (upstreamUrl: string): string[] => ['servers:', '  bench:', `    url: ${JSON.stringify(upstreamUrl)}`];

export const GATEWAY_VARIANTS: readonly GatewayVariant[] = [
  {
    name: 'plain',
    title: 'audit+metrics on (gateway) versus off (gateway-plain); goal (issue #7): CPU ratio under 1.20, throughput ratio at C=16 not below 1',
    compare: { with: 'gateway', featureOn: 'gateway' },
    config: (upstreamUrl) => ['metrics:', '  enabled: false', 'audit:', '  enabled: false', ...benchServer(upstreamUrl)],
  },
  {
    name: 'no-metrics',
    title: 'metrics (request counters and latency histograms) on (gateway) versus off, with the audit on in both',
    compare: { with: 'gateway', featureOn: 'gateway' },
    config: (upstreamUrl) => ['metrics:', '  enabled: false', ...benchServer(upstreamUrl)],
  },
  {
    name: 'no-intents',
    title: 'audit intents (made durable before each tools/call of a tool not annotated read-only: a journal line on SQLite) versus audit without them',
    compare: { with: 'gateway', featureOn: 'gateway' },
    config: (upstreamUrl) => ['audit:', '  intents: false', ...benchServer(upstreamUrl)],
  },
  {
    name: 'limits',
    title: 'limits: a per-user×tool token bucket and a per-server concurrency limit checked on every call (never reached), versus none',
    compare: { with: 'gateway', featureOn: 'variant' },
    config: (upstreamUrl) => [
      'limits:',
      '  rules:',
      '    - name: bench-rate',
      '      key: [user, tool]',
      '      rate: { requests: 1000000000, per: 1s }',
      '    - name: bench-concurrency',
      '      key: [server]',
      '      concurrency: { max: 100000 }',
      ...benchServer(upstreamUrl),
    ],
  },
  {
    name: 'routing',
    title: 'routing: the same upstream listed twice in `urls` (power-of-two-choices on EWMA latency, breakers, retries), versus one url',
    compare: { with: 'gateway', featureOn: 'variant' },
    config: (upstreamUrl) => ['servers:', '  bench:', '    urls:', `      - ${JSON.stringify(upstreamUrl)}`, `      - ${JSON.stringify(`${upstreamUrl}?replica=2`)}`],
  },
  {
    name: 'tracing',
    title: 'tracing: every call sampled and exported over OTLP/HTTP to a local sink, versus tracing off (the default)',
    compare: { with: 'gateway', featureOn: 'variant' },
    config: (upstreamUrl, sinkUrl) => ['tracing:', `  endpoint: ${JSON.stringify(sinkUrl)}`, ...benchServer(upstreamUrl)],
  },
];

export function variantsNamed(list: string): GatewayVariant[] {
  if (list.trim() === '') return [];
  return list.split(',').map((name) => {
    const variant = GATEWAY_VARIANTS.find((candidate) => candidate.name === name.trim());
    if (variant === undefined) throw new Error(`--variants: unknown "${name}"; known: ${GATEWAY_VARIANTS.map((candidate) => candidate.name).join(', ')}`);
    return variant;
  });
}
