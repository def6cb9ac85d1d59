import {
  maskSecrets,
  toolFingerprint,
  type HealthSummary,
  type LearntState,
  type ServerRecord,
  type ToolFingerprint,
  type VirtualServerRecord,
} from '../registry/index.js';
import type { AdminDeps } from './admin-deps.js';
import type { HealthView, RuntimeView, ServerDetail, ServerItem, ToolView, VirtualServerItem } from './schemas.js';

/**
 * Registry records shaped for the API: secrets masked, joined with what the running gateway knows
 * (runtime state, health) and what the server told about itself (learnt state).
 */

export function endpointOf(deps: AdminDeps, name: string): string {
  return `${deps.publicUrl()}/servers/${encodeURIComponent(name)}/mcp`;
}

export function runtimeView(deps: AdminDeps, name: string): RuntimeView {
  const runtime = deps.runtime(name);
  if (runtime === undefined) return null;
  return {
    state: runtime.state,
    ...(runtime.lastError !== undefined ? { lastError: runtime.lastError } : {}),
    ...(runtime.circuit !== undefined ? { circuit: runtime.circuit } : {}),
    ...(runtime.endpoints !== undefined ? { endpoints: runtime.endpoints.map((endpoint) => ({ ...endpoint })) } : {}),
  };
}

export function healthView(summary: HealthSummary | undefined): HealthView {
  if (summary === undefined) return null;
  return {
    uptime24h: summary.uptime,
    avgLatencyMs: summary.avgLatencyMs,
    lastError: summary.lastError ? { at: summary.lastError.at, message: summary.lastError.error ?? 'the check failed' } : null,
    lastCheckedAt: summary.last?.at ?? null,
    checks: summary.checks,
  };
}

function learntSummary(state: LearntState | undefined): ServerItem['learnt'] {
  if (state === undefined) return null;
  return {
    serverInfo: state.serverInfo,
    protocolVersion: state.protocolVersion,
    updatedAt: state.updatedAt,
    tools: state.tools.length,
    prompts: state.prompts.length,
    resources: state.resources.length,
    resourceTemplates: state.resourceTemplates.length,
  };
}

export function serverItem(deps: AdminDeps, record: ServerRecord, matchedTools?: readonly string[]): ServerItem {
  const { spec } = record;
  return {
    name: record.name,
    ...(spec.title !== undefined ? { title: spec.title } : {}),
    ...(spec.description !== undefined ? { description: spec.description } : {}),
    transport: spec.transport,
    tags: [...spec.tags],
    ...(spec.owner !== undefined ? { owner: spec.owner } : {}),
    status: record.status,
    source: record.source,
    readOnly: record.source === 'file',
    endpoint: endpointOf(deps, record.name),
    createdAt: record.createdAt,
    updatedAt: record.updatedAt,
    spec: maskSecrets(spec),
    runtime: runtimeView(deps, record.name),
    health: healthView(deps.health().get(record.name)),
    learnt: learntSummary(deps.registry.learntState(record.name)),
    ...(matchedTools !== undefined ? { matchedTools: [...matchedTools] } : {}),
  };
}

export async function serverDetail(deps: AdminDeps, record: ServerRecord): Promise<ServerDetail> {
  const { matchedTools: _none, learnt: _summary, ...item } = serverItem(deps, record);
  const state = deps.registry.learntState(record.name);
  if (state === undefined) return { ...item, learnt: null };
  return {
    ...item,
    learnt: {
      serverInfo: state.serverInfo,
      protocolVersion: state.protocolVersion,
      updatedAt: state.updatedAt,
      capabilities: state.capabilities,
      instructions: state.instructions,
      tools: toolViews(state.tools, await deps.registry.store.listFingerprints(record.name)),
      prompts: [...state.prompts],
      resources: [...state.resources],
      resourceTemplates: [...state.resourceTemplates],
    },
  };
}

/**
 * Each tool with the fingerprint of its current definition and when that definition was first seen.
 * `changed` flags a tool the gateway saw with another definition before: a server that rewrites a
 * tool's description after approval is the "rug pull" an operator wants to notice.
 */
export function toolViews(tools: readonly Record<string, unknown>[], fingerprints: readonly ToolFingerprint[]): ToolView[] {
  return tools.map((tool) => {
    const name = String(tool.name ?? '');
    const fingerprint = toolFingerprint(tool);
    const seen = fingerprints.filter((row) => row.tool === name);
    const current = seen.find((row) => row.fingerprint === fingerprint);
    return {
      ...tool,
      name,
      ...(typeof tool.title === 'string' ? { title: tool.title } : {}),
      ...(typeof tool.description === 'string' ? { description: tool.description } : {}),
      fingerprint,
      firstSeenAt: current?.firstSeenAt ?? null,
      lastSeenAt: current?.lastSeenAt ?? null,
      changed: seen.some((row) => row.fingerprint !== fingerprint),
    };
  });
}

export function virtualServerItem(deps: AdminDeps, record: VirtualServerRecord): VirtualServerItem {
  const { spec } = record;
  return {
    name: record.name,
    ...(spec.title !== undefined ? { title: spec.title } : {}),
    ...(spec.description !== undefined ? { description: spec.description } : {}),
    tags: [...spec.tags],
    ...(spec.owner !== undefined ? { owner: spec.owner } : {}),
    enabled: spec.enabled,
    source: record.source,
    readOnly: record.source === 'file',
    endpoint: endpointOf(deps, record.name),
    createdAt: record.createdAt,
    updatedAt: record.updatedAt,
    spec,
  };
}
