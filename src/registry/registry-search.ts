import type { ServerStatus } from './server-spec.js';
import type { LearntState, ServerRecord } from './store.js';

/**
 * Searching the registry's servers: by name, title, description and tags, and by the tools each
 * server listed (what the gateway learnt). The Registry hands it its records (registry.ts).
 */

export interface SearchQuery {
  readonly text?: string | undefined;
  readonly tag?: string | undefined;
  readonly status?: ServerStatus | undefined;
}

export interface SearchHit {
  readonly record: ServerRecord;
  /** Tools whose name or description matched the text. */
  readonly matchedTools: readonly string[];
}

/** Searches names, titles, descriptions, tags and the descriptions of the tools each server listed. */
export function searchServers(servers: readonly ServerRecord[], learnt: ReadonlyMap<string, LearntState>, query: SearchQuery): SearchHit[] {
  const words = (query.text ?? '').toLowerCase().split(/\s+/).filter(Boolean);
  const hits: SearchHit[] = [];
  for (const record of servers) {
    if (query.status !== undefined && record.status !== query.status) continue;
    if (query.tag !== undefined && !record.spec.tags.includes(query.tag)) continue;
    if (words.length === 0) {
      hits.push({ record, matchedTools: [] });
      continue;
    }
    const own = [record.name, record.spec.title ?? '', record.spec.description ?? '', ...record.spec.tags].join(' ').toLowerCase();
    const tools = learnt.get(record.name)?.tools ?? [];
    const matchedTools: string[] = [];
    for (const tool of tools) {
      const text = `${String(tool.name ?? '')} ${String(tool.title ?? '')} ${String(tool.description ?? '')}`.toLowerCase();
      if (words.every((word) => text.includes(word) || own.includes(word))) matchedTools.push(String(tool.name));
    }
    if (words.every((word) => own.includes(word)) || matchedTools.length > 0) hits.push({ record, matchedTools });
  }
  return hits;
}
