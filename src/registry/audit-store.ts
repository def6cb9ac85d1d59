import { hash } from 'node:crypto';
import type { Page } from './store.js';

/**
 * The audit trail's persistence (issue #7): one row per call that matters, chained by hashes per
 * writer so that an edited or deleted row is detected by `gatehouse audit verify`.
 *
 * A row is born in one of two ways. Most calls are written once, complete, by the batch writer. A
 * call with side effects (a tools/call) is first written as an *intent* (outcome `pending`, not yet
 * chained) before it is sent upstream; the batch writer later completes that same row and chains it.
 * So a call is always exactly one row, and after a crash the row is there with no outcome. (On SQLite
 * the intent waits in a journal beside the database instead, intent-journal.ts, and becomes a row
 * only if its process dies or drops the outcome; ids of journalled intents are negative.)
 *
 * The chain is per `replicaId`: several gateways sharing one PostgreSQL database each extend their own
 * chain, so they never race for one head. `seq` numbers a chain's rows 1, 2, 3 …; `prevHash` is the
 * `hash` of the row before (the genesis hash for seq 1, or the anchor's hash after pruning);
 * `hash = sha256(prevHash + canonical JSON of the row's content)`.
 */

/** What is known when a call starts (an intent carries exactly this). */
export interface AuditCall {
  readonly replicaId: string;
  /** When the gateway received the call, ISO-8601 UTC. */
  readonly at: string;
  /** The JSON-RPC id, as text. */
  readonly requestId: string | null;
  readonly sessionId: string | null;
  /** Identity.subject: the key id, the token's subject, or "anonymous". */
  readonly subject: string;
  /** Identity.name (the user's name or e-mail, the key's name), when known. */
  readonly user: string | null;
  /** anonymous, api-key or jwt. */
  readonly identityKind: string;
  readonly team: string | null;
  readonly keyId: string | null;
  readonly clientName: string | null;
  readonly clientVersion: string | null;
  /** The endpoint the call came through: `/mcp` (every server) or `/servers/<name>/mcp` (a server or virtual server). */
  readonly endpoint: string | null;
  readonly method: string;
  /** The server the call went to, when resolved. */
  readonly server: string | null;
  /** The tool or prompt name, or resource URI, as the server knows it (as the client named it when unresolved). */
  readonly name: string | null;
  /** The arguments after redaction, as JSON text. */
  readonly arguments: string | null;
}

export type AuditOutcome = 'ok' | 'error' | 'denied' | 'unknown';

/** What the call came to. */
export interface AuditResult {
  /** ok: a result; error: a JSON-RPC error; denied: refused by a policy or limit; unknown: no outcome was recorded. */
  readonly outcome: AuditOutcome;
  /** The catalogue code (`call_denied`, `rate_limited` …) or the upstream's JSON-RPC code, for error and denied. */
  readonly errorCode: string | null;
  /** Bytes of the serialised result. */
  readonly resultBytes: number | null;
  /** The result's `isError` (a tool that reports failure), for tools/call. */
  readonly isError: boolean | null;
  /** The result after redaction, as JSON text, when `audit.captureResults` is on. */
  readonly result: string | null;
  readonly latencyMs: number | null;
}

/** A completed call as the writer hands it to the store; `intentId` completes an intent row. */
export interface AuditEntry extends AuditCall, AuditResult {
  readonly intentId?: number | undefined;
  /** The replica that served the call: its endpoint URL (origin and path) or `pid:<n>` of a stdio process; none when nothing was sent. */
  readonly upstream?: string | null | undefined;
}

/** A stored row. `seq`, `prevHash` and `hash` are null while the row is an intent (outcome `pending`). */
export interface AuditRecord extends AuditCall {
  readonly id: number;
  readonly outcome: AuditOutcome | 'pending';
  readonly errorCode: string | null;
  readonly resultBytes: number | null;
  readonly isError: boolean | null;
  readonly result: string | null;
  readonly latencyMs: number | null;
  readonly upstream: string | null;
  readonly seq: number | null;
  readonly prevHash: string | null;
  readonly hash: string | null;
}

/** The newest link of one writer's chain. */
export interface AuditLink {
  readonly replicaId: string;
  readonly seq: number;
  readonly hash: string;
}

export interface AuditQuery {
  readonly limit: number;
  /** `desc` (the default): newest first, `cursor` is an id to go below; `asc`: oldest first, above it. */
  readonly order?: 'asc' | 'desc';
  readonly cursor?: number | undefined;
  /** Matches the subject or the user name. */
  readonly user?: string | undefined;
  readonly server?: string | undefined;
  /** Matches `name`: a tool or prompt name, or a resource URI. */
  readonly tool?: string | undefined;
  readonly method?: string | undefined;
  readonly outcome?: AuditOutcome | 'pending' | undefined;
  /** ISO-8601, inclusive. */
  readonly since?: string | undefined;
  /** ISO-8601, exclusive. */
  readonly until?: string | undefined;
}

export interface AuditStore {
  /**
   * Writes calls' intents (outcome `pending`, unchained) in one transaction and returns their row ids,
   * in order. Durable when it resolves.
   */
  insertAuditIntents(calls: readonly AuditCall[]): Promise<number[]>;
  /**
   * Writes one intent and returns its id before returning, durable as insertAuditIntents makes it;
   * only where that needs no wait (SQLite's intent journal: one write to a file). Stores without it
   * are written through insertAuditIntents.
   */
  readonly insertAuditIntentNow?: ((call: AuditCall) => number) | undefined;
  /**
   * These intents will get no outcome (the writer dropped their records under overload). A store
   * whose intents are rows already has them as pending; the SQLite journal lets their segment go and
   * imports them as pending rows (the next start records them as outcome `unknown`).
   */
  readonly abandonAuditIntents?: ((ids: readonly number[]) => void) | undefined;
  /**
   * Chains `entries` in order after the replica's newest link and writes them in one transaction; an
   * entry with `intentId` completes that row. Returns the newest link after.
   */
  appendAudit(replicaId: string, entries: readonly AuditEntry[]): Promise<AuditLink | undefined>;
  /** The replica's newest link (or its anchor when every row was pruned), undefined for an empty chain. */
  auditHead(replicaId: string): Promise<AuditLink | undefined>;
  /** Intents of a replica with no outcome yet, oldest first. */
  pendingAudit(replicaId: string): Promise<AuditRecord[]>;
  queryAudit(query: AuditQuery): Promise<Page<AuditRecord>>;
  /** One replica's chained rows with `seq > afterSeq`, by seq. */
  auditChain(replicaId: string, afterSeq: number, limit: number): Promise<AuditRecord[]>;
  /** Every replica with rows or an anchor, and where its remaining chain starts (seq 0 and the genesis hash, or the anchor). */
  auditChainStarts(): Promise<AuditLink[]>;
  /**
   * Deletes rows recorded before `before`: for each chain the longest prefix of chained rows all older
   * than that (so what remains is still one unbroken chain), remembering the last deleted link as the
   * chain's anchor; and intents older than that. Returns how many rows went.
   */
  pruneAudit(before: string): Promise<number>;
  /** The time of the `count`-th newest record (the oldest that `count` records would keep); undefined when there are fewer. */
  auditTimeOfNewest(count: number): Promise<string | undefined>;
}

/** The prevHash of a chain's first row. */
export const AUDIT_GENESIS_HASH = '0'.repeat(64);

/** Version of the hashed form, so that the form can change without making old rows unverifiable. */
const HASH_FORM = 1;

/** The values a hash covers, in a fixed order: every column except the row id and the hash itself. */
function hashedContent(row: AuditCall & AuditResult & { readonly upstream?: string | null | undefined }, seq: number): unknown[] {
  const content = [
    HASH_FORM,
    row.replicaId,
    seq,
    row.at,
    row.requestId,
    row.sessionId,
    row.subject,
    row.user,
    row.identityKind,
    row.team,
    row.keyId,
    row.clientName,
    row.clientVersion,
    row.endpoint,
    row.method,
    row.server,
    row.name,
    row.arguments,
    row.outcome,
    row.errorCode,
    row.resultBytes,
    row.isError,
    row.result,
    row.latencyMs,
  ];
  // Added after form 1's rows were written: hashed only when present, so those rows verify as they were.
  if (row.upstream != null) content.push(row.upstream);
  return content;
}

/** sha256(prevHash + JSON of the row's content), hex. A JSON array of scalars is canonical as it is. */
export function auditHash(prevHash: string, row: AuditCall & AuditResult & { readonly upstream?: string | null | undefined }, seq: number): string {
  return hash('sha256', prevHash + JSON.stringify(hashedContent(row, seq)), 'hex');
}

/** The entries as the replica whose chain they join (the replica id is part of what is hashed). */
export function ofReplica(replicaId: string, entries: readonly AuditEntry[]): readonly AuditEntry[] {
  return entries.every((entry) => entry.replicaId === replicaId) ? entries : entries.map((entry) => ({ ...entry, replicaId }));
}

/** The entries of one append with their chain fields, after `head`. */
export function chainEntries(head: AuditLink | undefined, entries: readonly AuditEntry[]): { entry: AuditEntry; seq: number; prevHash: string; hash: string }[] {
  let seq = head?.seq ?? 0;
  let prevHash = head?.hash ?? AUDIT_GENESIS_HASH;
  return entries.map((entry) => {
    seq += 1;
    const hash = auditHash(prevHash, entry, seq);
    const linked = { entry, seq, prevHash, hash };
    prevHash = hash;
    return linked;
  });
}

/** What verification found wrong at one place in a chain. */
export interface AuditProblem {
  readonly replicaId: string;
  readonly seq: number;
  readonly id?: number | undefined;
  /** modified: the row's content does not match its hash; missing: rows are gone before it; broken: its prevHash is not the previous row's hash. */
  readonly kind: 'modified' | 'missing' | 'broken';
  readonly detail: string;
}

export interface AuditVerification {
  readonly ok: boolean;
  readonly chains: readonly { replicaId: string; rows: number; firstSeq: number | null; head: AuditLink | null }[];
  readonly problems: readonly AuditProblem[];
}

const VERIFY_PAGE = 1000;

/**
 * Walks every chain from where it starts (genesis or the pruning anchor) to its head, recomputing each
 * hash. Reads a page at a time, so a large trail is verified in bounded memory. A hash chain detects
 * edits and deletions of rows before the head; deleting the newest rows, or rewriting a row and every
 * hash after it, needs the head to be compared with a copy kept elsewhere (verify prints the heads).
 */
export async function verifyAudit(store: AuditStore, maxProblems = 100): Promise<AuditVerification> {
  const problems: AuditProblem[] = [];
  const chains: { replicaId: string; rows: number; firstSeq: number | null; head: AuditLink | null }[] = [];
  for (const start of await store.auditChainStarts()) {
    let expectedSeq = start.seq + 1;
    let prevHash = start.hash;
    let rows = 0;
    let firstSeq: number | null = null;
    let head: AuditLink | null = null;
    for (;;) {
      const page = await store.auditChain(start.replicaId, expectedSeq - 1, VERIFY_PAGE);
      for (const row of page) {
        const seq = row.seq!;
        firstSeq ??= seq;
        if (seq !== expectedSeq) {
          problems.push({ replicaId: start.replicaId, seq, id: row.id, kind: 'missing', detail: `rows ${expectedSeq}..${seq - 1} of the chain are missing before this one` });
        } else if (row.prevHash !== prevHash) {
          problems.push({ replicaId: start.replicaId, seq, id: row.id, kind: 'broken', detail: 'its prevHash is not the hash of the row before it (that row was changed, or rows were removed)' });
        }
        if (row.outcome === 'pending' || auditHash(row.prevHash ?? '', { ...row, outcome: row.outcome }, seq) !== row.hash) {
          problems.push({ replicaId: start.replicaId, seq, id: row.id, kind: 'modified', detail: 'the row\'s content does not match its hash' });
        }
        expectedSeq = seq + 1;
        prevHash = row.hash ?? '';
        rows += 1;
        head = { replicaId: start.replicaId, seq, hash: row.hash ?? '' };
      }
      if (page.length < VERIFY_PAGE || problems.length >= maxProblems) break;
    }
    chains.push({ replicaId: start.replicaId, rows, firstSeq, head });
    if (problems.length >= maxProblems) break;
  }
  return { ok: problems.length === 0, chains, problems: problems.slice(0, maxProblems) };
}
