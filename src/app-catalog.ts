import type { GatehouseConfig } from './config/index.js';
import type { Identity } from './core/index.js';
import type { Logger } from './observability/index.js';
import type { ItemKind, Policies } from './pipeline/index.js';
import type { ListKind, Params } from './protocol/index.js';
import type { EffectiveCatalog, FileDeclarations, Registry, VirtualServerSpec } from './registry/index.js';
import { AGGREGATE_VIEW_NAME, serverView, virtualView, type View } from './router/index.js';
import type { ServerIdentity } from './upstreams/index.js';

/* How the registry's catalog becomes what the gateway serves: what a config file declares, the
   endpoint views and which of them a change touched, a view narrowed by policies, and the lists
   learnt from servers. */

/** What one application of the catalog changed, for logs and tests. */
export interface CatalogChange {
  readonly added: readonly string[];
  readonly removed: readonly string[];
  readonly changed: readonly string[];
  readonly views: readonly string[];
}

export const LIST_CHANGED: readonly string[] = [
  'notifications/tools/list_changed',
  'notifications/prompts/list_changed',
  'notifications/resources/list_changed',
];

/** What a config file declares into the registry. */
export function declarations(config: GatehouseConfig): FileDeclarations {
  return { servers: config.servers, virtualServers: config.virtualServers, policies: config.auth.policies, limits: config.limits.rules };
}

/** Settings of `config` that differ from the `running` one's and need a new listener or process. */
export function restartOnlySettings(config: GatehouseConfig, running: GatehouseConfig): (keyof GatehouseConfig)[] {
  // Policies are registry records and apply now; the rest of `auth` needs the next start.
  const withoutPolicies = (settings: GatehouseConfig): unknown => ({ ...settings.auth, policies: undefined });
  // Limit rules are registry records too; the counters' store and the HTTP limits need the next start.
  const withoutRules = (settings: GatehouseConfig): unknown => ({ ...settings.limits, rules: undefined });
  return (['listen', 'limits', 'store', 'dataDir', 'admin', 'auth', 'separator', 'sessions', 'metrics', 'audit', 'cache', 'connections', 'tracing'] as const).filter((key) =>
    key === 'auth'
      ? JSON.stringify(withoutPolicies(config)) !== JSON.stringify(withoutPolicies(running))
      : key === 'limits'
        ? JSON.stringify(withoutRules(config)) !== JSON.stringify(withoutRules(running))
        : JSON.stringify(config[key]) !== JSON.stringify(running[key]),
  );
}

export function sameSpec(a: unknown, b: unknown): boolean {
  return JSON.stringify(a) === JSON.stringify(b);
}

/** The endpoints the catalog defines: each server, each virtual server, and the aggregate of `served`. */
export function catalogViews(catalog: EffectiveCatalog, served: Iterable<string>): Map<string, View> {
  const views = new Map<string, View>();
  const tags = new Map<string, { tags: readonly string[] }>();
  for (const [name, spec] of catalog.servers) {
    views.set(name, serverView(name));
    tags.set(name, { tags: spec.tags });
  }
  for (const [name, spec] of catalog.virtualServers) views.set(name, virtualView(name, spec, tags));
  views.set(AGGREGATE_VIEW_NAME, { name: AGGREGATE_VIEW_NAME, kind: 'aggregate', servers: [...served], prefixed: true });
  return views;
}

export function viewChanged(
  before: View | undefined,
  after: View | undefined,
  touched: ReadonlySet<string>,
  spec: VirtualServerSpec | undefined,
  specBefore: VirtualServerSpec | undefined,
): boolean {
  if (before === undefined || after === undefined) return before !== after;
  if (before.servers.join('\0') !== after.servers.join('\0')) return true;
  if (after.kind === 'virtual' && JSON.stringify(spec) !== JSON.stringify(specBefore)) return true;
  return after.servers.some((server) => touched.has(server));
}

/** `view` as the callers `decision` covers see it: lists without what they may not use, and calls checked against conditions. */
export function narrowedView(view: View, decision: NonNullable<ReturnType<Policies['permitsFor']>>, policies: Policies): View {
  return {
    ...view,
    permits: decision.permits,
    listKey: decision.key,
    ...(policies.hasConditions
      ? { authorizeCall: (identity: Identity, server: string, kind: ItemKind, name: string, args: unknown) => policies.allowsCall(identity, view.name, server, kind, name, args) }
      : {}),
  };
}

/** Records what a server offers: its identity and lists (a list not fetched this time stays as recorded). */
export function recordLearnt(registry: Registry, logger: Logger, server: string, identity: ServerIdentity, lists: Partial<Record<ListKind, Params[]>>): void {
  const known = registry.learntState(server);
  registry
    .recordLearnt({
      server,
      serverInfo: identity.serverInfo,
      protocolVersion: identity.protocolVersion,
      capabilities: identity.capabilities,
      instructions: identity.instructions ?? null,
      tools: lists.tools ?? known?.tools ?? [],
      prompts: lists.prompts ?? known?.prompts ?? [],
      resources: lists.resources ?? known?.resources ?? [],
      resourceTemplates: lists.resourceTemplates ?? known?.resourceTemplates ?? [],
    })
    .catch((error: unknown) => logger.warn({ server, reason: (error as Error).message }, 'could not record what the server offers'));
}
