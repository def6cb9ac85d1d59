import {
  AUDIT_GENESIS_HASH,
  chainEntries,
  ofReplica,
  type AuditCall,
  type AuditEntry,
  type AuditLink,
  type AuditQuery,
  type AuditRecord,
  type AuditStore,
} from './audit-store.js';
import { checkPageLimit, compareText } from './store-records.js';
import type { Page } from './store.js';

/**
 * A memory store is for trying things out and tests, and lives as long as the process: it keeps the
 * newest records only, trimming the oldest as retention would (chains stay verifiable from their anchors).
 */
const MEMORY_MAX_ROWS = 100_000;

/** The audit trail in an array, for `memory:` stores and tests; the same answers as the SQL store. */
export class MemoryAuditStore implements AuditStore {
  /** By id, ascending (ids only grow). */
  private rows: AuditRecord[] = [];
  private readonly anchors = new Map<string, AuditLink>();
  private nextId = 1;

  async insertAuditIntents(calls: readonly AuditCall[]): Promise<number[]> {
    return calls.map((call) => this.insertIntent(call));
  }

  private insertIntent(call: AuditCall): number {
    const id = this.nextId++;
    this.rows.push({
      ...call,
      id,
      outcome: 'pending',
      errorCode: null,
      resultBytes: null,
      isError: null,
      result: null,
      latencyMs: null,
      upstream: null,
      seq: null,
      prevHash: null,
      hash: null,
    });
    return id;
  }

  async appendAudit(replicaId: string, entries: readonly AuditEntry[]): Promise<AuditLink | undefined> {
    // No await before the rows are in: concurrent appends must each see the head the last one left.
    const head = this.headOf(replicaId);
    if (entries.length === 0) return head;
    for (const { entry, seq, prevHash, hash } of chainEntries(head, ofReplica(replicaId, entries))) {
      const { intentId, ...fields } = entry;
      const row: Omit<AuditRecord, 'id'> = { ...fields, upstream: fields.upstream ?? null, seq, prevHash, hash };
      const index = intentId === undefined ? -1 : this.rows.findIndex((stored) => stored.id === intentId && stored.seq === null);
      if (index >= 0) this.rows[index] = { ...row, id: intentId! };
      else this.rows.push({ ...row, id: this.nextId++ });
    }
    // Trimmed a tenth at a time, so that the sort below is rare.
    if (this.rows.length > MEMORY_MAX_ROWS * 1.1) {
      const times = this.rows.map((stored) => stored.at).sort(compareText);
      await this.pruneAudit(times[this.rows.length - MEMORY_MAX_ROWS]!);
    }
    return this.headOf(replicaId);
  }

  async auditHead(replicaId: string): Promise<AuditLink | undefined> {
    return this.headOf(replicaId);
  }

  private headOf(replicaId: string): AuditLink | undefined {
    let head: AuditLink | undefined = this.anchors.get(replicaId);
    for (const row of this.rows) {
      if (row.replicaId === replicaId && row.seq !== null && (head === undefined || row.seq > head.seq)) head = { replicaId, seq: row.seq, hash: row.hash! };
    }
    return head && { ...head };
  }

  async pendingAudit(replicaId: string): Promise<AuditRecord[]> {
    return this.rows.filter((row) => row.replicaId === replicaId && row.seq === null).map((row) => ({ ...row }));
  }

  async queryAudit(query: AuditQuery): Promise<Page<AuditRecord>> {
    checkPageLimit(query.limit);
    const ascending = query.order === 'asc';
    const matching = this.rows.filter(
      (row) =>
        (query.cursor === undefined || (ascending ? row.id > query.cursor : row.id < query.cursor)) &&
        (query.user === undefined || row.subject === query.user || row.user === query.user) &&
        (query.server === undefined || row.server === query.server) &&
        (query.tool === undefined || row.name === query.tool) &&
        (query.method === undefined || row.method === query.method) &&
        (query.outcome === undefined || row.outcome === query.outcome) &&
        (query.since === undefined || row.at >= query.since) &&
        (query.until === undefined || row.at < query.until),
    );
    if (!ascending) matching.reverse();
    const items = matching.slice(0, query.limit).map((row) => ({ ...row }));
    const last = items.at(-1);
    return matching.length > query.limit && last !== undefined ? { items, next: last.id } : { items };
  }

  async auditChain(replicaId: string, afterSeq: number, limit: number): Promise<AuditRecord[]> {
    return this.rows
      .filter((row) => row.replicaId === replicaId && row.seq !== null && row.seq > afterSeq)
      .sort((left, right) => left.seq! - right.seq!)
      .slice(0, limit)
      .map((row) => ({ ...row }));
  }

  async auditChainStarts(): Promise<AuditLink[]> {
    const replicas = new Set([...this.anchors.keys(), ...this.rows.filter((row) => row.seq !== null).map((row) => row.replicaId)]);
    return [...replicas].sort(compareText).map((replicaId) => ({ ...(this.anchors.get(replicaId) ?? { replicaId, seq: 0, hash: AUDIT_GENESIS_HASH }) }));
  }

  async auditTimeOfNewest(count: number): Promise<string | undefined> {
    const times = this.rows.map((row) => row.at).sort(compareText);
    return times[times.length - count];
  }

  async pruneAudit(before: string): Promise<number> {
    const doomed = new Set<number>();
    for (const { replicaId } of await this.auditChainStarts()) {
      const chain = await this.auditChain(replicaId, 0, Number.MAX_SAFE_INTEGER);
      let last: AuditRecord | undefined;
      for (const row of chain) {
        if (row.at >= before) break;
        doomed.add(row.id);
        last = row;
      }
      if (last !== undefined) this.anchors.set(replicaId, { replicaId, seq: last.seq!, hash: last.hash! });
    }
    for (const row of this.rows) if (row.seq === null && row.at < before) doomed.add(row.id);
    this.rows = this.rows.filter((row) => !doomed.has(row.id));
    return doomed.size;
  }
}
