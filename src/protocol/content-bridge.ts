import type { Params } from './jsonrpc.js';

/** Content types each session-era revision added; a client of an older revision may reject them. */
const RESOURCE_LINK_SINCE = '2025-06-18';
const AUDIO_SINCE = '2025-03-26';

/**
 * Bridges a tool result down to an older client's revision: `resource_link` blocks (2025-06-18) and
 * `audio` blocks (2025-03-26) become text that says what was there, because the SDKs of those
 * revisions validate content against a closed union and would fail the whole result. Results for
 * current clients are returned as they are (no copy).
 */
export function adaptToolResultForRevision(result: Params, revision: string): Params {
  if (revision >= RESOURCE_LINK_SINCE || !Array.isArray(result.content)) return result;
  let changed = false;
  const content = (result.content as Params[]).map((block) => {
    if (block.type === 'resource_link') {
      changed = true;
      const label = typeof block.name === 'string' ? `${block.name} ` : '';
      return { type: 'text', text: `Resource link: ${label}<${String(block.uri)}>${typeof block.description === 'string' ? ` — ${block.description}` : ''}` };
    }
    if (block.type === 'audio' && revision < AUDIO_SINCE) {
      changed = true;
      return { type: 'text', text: `[audio content (${String(block.mimeType)}) omitted: this client's protocol revision has no audio content]` };
    }
    return block;
  });
  return changed ? { ...result, content } : result;
}
