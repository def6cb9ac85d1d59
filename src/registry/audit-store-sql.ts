import { CompiledQuery, type Generated, type Kysely, type Selectable, type Transaction } from 'kysely';
import {
  AUDIT_GENESIS_HASH,
  chainEntries,
  ofReplica,
  type AuditCall,
  type AuditEntry,
  type AuditLink,
  type AuditOutcome,
  type AuditQuery,
  type AuditRecord,
  type AuditStore,
} from './audit-store.js';
import { leftoverSegments, readSegments, removeSegments, type IntentJournal } from './intent-journal.js';
import type { RegistryTables } from './migrations.js';
import { checkPageLimit, compareText } from './store-records.js';
import type { Page } from './store.js';

/**
 * The audit trail on Kysely, for SQLite and PostgreSQL alike (migration 5 creates the tables). Integer
 * columns that are bigint in PostgreSQL come back from pg as strings, hence the Number() on the way out.
 */

// A type, not an interface: Kysely's withTables wants an index signature an interface lacks.
export type AuditTables = {
  audit_records: {
    id: Generated<number | string>;
    replica_id: string;
    seq: number | string | null;
    prev_hash: string | null;
    hash: string | null;
    at: string;
    request_id: string | null;
    session_id: string | null;
    subject: string;
    user_name: string | null;
    identity_kind: string;
    team: string | null;
    key_id: string | null;
    client_name: string | null;
    client_version: string | null;
    endpoint: string | null;
    method: string;
    server: string | null;
    name: string | null;
    arguments: string | null;
    outcome: string;
    error_code: string | null;
    result_bytes: number | null;
    /** 0 or 1: SQLite has no boolean. */
    is_error: number | null;
    result: string | null;
    latency_ms: number | null;
    /** Migration 7: the replica that served the call. */
    upstream: string | null;
    /** Migration 8: the key of the journalled intent this row completes (intent-journal.ts); not hashed, bookkeeping only. */
    intent: string | null;
  };
  /** Where each chain starts after pruning: the last pruned link. */
  audit_anchors: { replica_id: string; seq: number | string; hash: string; pruned_at: string };
};

type Db = Kysely<AuditTables>;
type AuditRow = Selectable<AuditTables['audit_records']>;

// Rows a batch insert carries in its one JSON parameter.
const INSERT_CHUNK = 500;

/** Every column but the id, in the order of rowValues(). */
const COLUMNS = [
  'replica_id', 'at', 'request_id', 'session_id', 'subject', 'user_name', 'identity_kind', 'team', 'key_id', 'client_name',
  'client_version', 'endpoint', 'method', 'server', 'name', 'arguments',
  'outcome', 'error_code', 'result_bytes', 'is_error', 'result', 'latency_ms', 'upstream', 'seq', 'prev_hash', 'hash', 'intent',
] as const;
/** The columns completing an intent row: what the call came to, and its link in the chain. */
const COMPLETION_COLUMNS = COLUMNS.slice(16, 26);

/** PostgreSQL types of the columns that are not text, for casting values out of JSON. */
const POSTGRES_TYPES: Partial<Record<(typeof COLUMNS)[number], string>> = { seq: 'bigint', result_bytes: 'integer', is_error: 'integer', latency_ms: 'double precision' };

/**
 * A row's values in COLUMNS order. The hot statements (the intent insert before every tools/call,
 * the batch insert) are written as SQL once and reused: Kysely's per-query compilation of a 25-column
 * insert cost more CPU than SQLite's own work on the row (measured: ~100 µs of ~210 µs an intent).
 * A batch travels as one JSON array parameter, because preparing a statement with a placeholder per
 * value (the driver prepares every query anew) cost more than the inserts themselves.
 */
function rowValues(call: AuditCall, result: AuditEntry | undefined, link: { seq: number; prevHash: string; hash: string } | undefined, intentKey: string | null): unknown[] {
  return [
    call.replicaId, call.at, call.requestId, call.sessionId, call.subject, call.user, call.identityKind, call.team, call.keyId, call.clientName,
    call.clientVersion, call.endpoint, call.method, call.server, call.name, call.arguments,
    ...completionValues(result, link), intentKey,
  ];
}

function completionValues(result: AuditEntry | undefined, link: { seq: number; prevHash: string; hash: string } | undefined): unknown[] {
  if (result === undefined) return ['pending', null, null, null, null, null, null, null, null, null];
  return [
    result.outcome, result.errorCode, result.resultBytes, result.isError === null ? null : result.isError ? 1 : 0, result.result, result.latencyMs,
    result.upstream ?? null, link?.seq ?? null, link?.prevHash ?? null, link?.hash ?? null,
  ];
}
const HEAD_SQL = 'select seq, hash from audit_records where replica_id = ? and seq is not null order by seq desc limit 1';
const ANCHOR_SQL = 'select seq, hash from audit_anchors where replica_id = ?';

function newestLink(replicaId: string, head: AuditLink | undefined, linked: readonly { seq: number; hash: string }[]): AuditLink | undefined {
  const last = linked.at(-1);
  return last === undefined ? head : { replicaId, seq: last.seq, hash: last.hash };
}

// A writer that shares its replica id with another process (or a SQLite write lock taken between the
// head read and the insert) loses the race on (replica_id, seq) and tries again from the new head.
// On PostgreSQL appends to one chain also wait for each other on an advisory lock, so they rarely race.
const APPEND_ATTEMPTS = 5;

function toRecord(row: AuditRow): AuditRecord {
  return {
    id: Number(row.id),
    replicaId: row.replica_id,
    at: row.at,
    requestId: row.request_id,
    sessionId: row.session_id,
    subject: row.subject,
    user: row.user_name,
    identityKind: row.identity_kind,
    team: row.team,
    keyId: row.key_id,
    clientName: row.client_name,
    clientVersion: row.client_version,
    endpoint: row.endpoint,
    method: row.method,
    server: row.server,
    name: row.name,
    arguments: row.arguments,
    outcome: row.outcome as AuditOutcome | 'pending',
    errorCode: row.error_code,
    resultBytes: row.result_bytes === null ? null : Number(row.result_bytes),
    isError: row.is_error === null ? null : Number(row.is_error) === 1,
    result: row.result,
    latencyMs: row.latency_ms === null ? null : Number(row.latency_ms),
    upstream: row.upstream,
    seq: row.seq === null ? null : Number(row.seq),
    prevHash: row.prev_hash,
    hash: row.hash,
  };
}

/**
 * An embedded database's connection, used synchronously with statements prepared once: Kysely's
 * driver prepares every query anew, and a batch of 500 rows inserted one prepared statement at a time
 * costs ~8 µs a row against ~24 µs through one json_each statement (measured on SQLite).
 */
export interface SyncSqlite {
  /** A statement, prepared at its first use (the store is built before the migrations create its tables). */
  statement(sql: string): SyncStatement;
  /**
   * Runs `work` now, in one transaction when `atomic`. Undefined when it cannot run now (Kysely holds a
   * transaction open across its awaits, which the work would join): the caller goes through Kysely.
   */
  run<T>(work: () => T, atomic: boolean): { value: T } | undefined;
}

export interface SyncStatement {
  get(values: readonly unknown[]): Record<string, unknown> | undefined;
  /** Returns the rows changed. */
  run(values: readonly unknown[]): number;
}

export class SqlAuditStore implements AuditStore {
  private readonly db: Db;
  private readonly batchSql: string;
  private readonly intentSql: string;
  private readonly insertSql: string;
  private readonly completeOneSql: string;
  private readonly completionSql: string;
  readonly insertAuditIntentNow: ((call: AuditCall) => number) | undefined;
  readonly abandonAuditIntents: ((ids: readonly number[]) => void) | undefined;

  constructor(
    db: Kysely<RegistryTables>,
    private readonly dialect: 'sqlite' | 'postgres',
    private readonly translateError: (error: unknown) => unknown,
    private readonly sync?: SyncSqlite,
    private readonly journal?: IntentJournal,
  ) {
    this.db = db.withTables<AuditTables>() as unknown as Db;
    if (journal !== undefined) {
      this.insertAuditIntentNow = (call) => this.appendToJournal(journal, [call])[0]!;
      this.abandonAuditIntents = (ids) => journal.abandon(ids.filter((id) => id < 0));
    }
    this.insertSql = `insert into audit_records (${COLUMNS.join(', ')}) values (${COLUMNS.map((_, index) => this.placeholder(index + 1)).join(', ')})`;
    this.intentSql = `${this.insertSql} returning id`;
    // The embedded path's statements, one row each (SyncSqlite: SQLite only).
    this.completeOneSql = `update audit_records set ${COMPLETION_COLUMNS.map((column) => `${column} = ?`).join(', ')} where id = ? and seq is null`;
    // json_each and jsonb_array_elements keep the array's order, so ids follow the chain's order.
    this.batchSql =
      dialect === 'postgres'
        ? `insert into audit_records (${COLUMNS.join(', ')}) select ${COLUMNS.map((column, index) => `(row.value ->> ${index})::${POSTGRES_TYPES[column] ?? 'text'}`).join(', ')} ` +
          'from jsonb_array_elements($1::jsonb) with ordinality as row(value, position) order by row.position'
        : `insert into audit_records (${COLUMNS.join(', ')}) select ${COLUMNS.map((_, index) => `value ->> ${index}`).join(', ')} from json_each(?) order by key`;
    // Completions travel the same way: [...completion values, intent id] per row, one UPDATE … FROM a batch.
    const idIndex = COMPLETION_COLUMNS.length;
    this.completionSql =
      dialect === 'postgres'
        ? `update audit_records set ${COMPLETION_COLUMNS.map((column, index) => `${column} = (row.value ->> ${index})::${POSTGRES_TYPES[column] ?? 'text'}`).join(', ')} ` +
          `from jsonb_array_elements($1::jsonb) as row(value) where audit_records.id = (row.value ->> ${idIndex})::bigint and audit_records.seq is null`
        : `update audit_records set ${COMPLETION_COLUMNS.map((column, index) => `${column} = row.value ->> ${index}`).join(', ')} ` +
          `from json_each(?) as row where audit_records.id = row.value ->> ${idIndex} and audit_records.seq is null`;
  }

  private placeholder(position: number): string {
    return this.dialect === 'postgres' ? `$${position}` : '?';
  }


  private async run<T>(work: (db: Db) => Promise<T>): Promise<T> {
    try {
      return await work(this.db);
    } catch (error) {
      throw this.translateError(error);
    }
  }

  private appendToJournal(journal: IntentJournal, calls: readonly AuditCall[]): number[] {
    try {
      return journal.append(calls);
    } catch (error) {
      throw this.translateError(error);
    }
  }

  async insertAuditIntents(calls: readonly AuditCall[]): Promise<number[]> {
    if (this.journal !== undefined) return this.appendToJournal(this.journal, calls);
    const rows = calls.map((call) => rowValues(call, undefined, undefined, null));
    const insertAll = async (db: Db | Transaction<AuditTables>): Promise<number[]> => {
      const ids: number[] = [];
      for (const values of rows) {
        const { rows: inserted } = await db.executeQuery<{ id: number | string }>(CompiledQuery.raw(this.intentSql, values));
        ids.push(Number(inserted[0]!.id));
      }
      return ids;
    };
    // One row is atomic on its own: no BEGIN and COMMIT round trips around it.
    return this.run((db) => (rows.length === 1 ? insertAll(db) : db.transaction().execute(insertAll)));
  }

  private async headIn(db: Db | Transaction<AuditTables>, replicaId: string): Promise<AuditLink | undefined> {
    const newest = await db
      .selectFrom('audit_records')
      .select(['seq', 'hash'])
      .where('replica_id', '=', replicaId)
      .where('seq', 'is not', null)
      .orderBy('seq', 'desc')
      .limit(1)
      .executeTakeFirst();
    if (newest !== undefined) return { replicaId, seq: Number(newest.seq), hash: newest.hash ?? '' };
    const anchor = await db.selectFrom('audit_anchors').select(['seq', 'hash']).where('replica_id', '=', replicaId).executeTakeFirst();
    return anchor === undefined ? undefined : { replicaId, seq: Number(anchor.seq), hash: anchor.hash };
  }

  async appendAudit(replicaId: string, entries: readonly AuditEntry[]): Promise<AuditLink | undefined> {
    const head = await this.appendTransaction(replicaId, entries);
    // Committed: the journal may now forget these intents.
    if (this.journal !== undefined) {
      const retired = this.journal.complete(entries.flatMap(({ intentId }) => (intentId !== undefined && intentId < 0 ? [intentId] : [])));
      // Full segments whose other intents were dropped: theirs become pending rows now. Should that
      // fail, the file stays and the next open of the database imports it; the batch itself is written.
      if (retired.length > 0) await this.importSegments(retired).catch(() => undefined);
    }
    return head;
  }

  /** The key a row completing `entry` carries: its journalled intent's (negative ids are the journal's). */
  private intentKeyOf(entry: AuditEntry): string | null {
    return this.journal !== undefined && entry.intentId !== undefined && entry.intentId < 0 ? this.journal.keyOf(entry.intentId) : null;
  }

  private async appendTransaction(replicaId: string, entries: readonly AuditEntry[]): Promise<AuditLink | undefined> {
    for (let attempt = 1; ; attempt++) {
      try {
        const appended = this.sync?.run(() => this.appendNow(this.sync!, replicaId, entries), true);
        if (appended !== undefined) return appended.value;
        return await this.db.transaction().execute(async (transaction) => {
          if (this.dialect === 'postgres') await transaction.executeQuery(CompiledQuery.raw('select pg_advisory_xact_lock(hashtext($1))', [`gatehouse-audit:${replicaId}`]));
          const head = await this.headIn(transaction, replicaId);
          if (entries.length === 0) return head;
          const linkedEntries = chainEntries(head, ofReplica(replicaId, entries));
          // Intents still waiting for their outcome; one pruned meanwhile (or recovered by another
          // process) is written as a new row instead.
          const intentIds = linkedEntries.flatMap(({ entry }) => (entry.intentId === undefined || entry.intentId < 0 ? [] : [entry.intentId]));
          const open = new Set<number>();
          for (let start = 0; start < intentIds.length; start += INSERT_CHUNK) {
            const rows = await transaction.selectFrom('audit_records').select('id').where('id', 'in', intentIds.slice(start, start + INSERT_CHUNK)).where('seq', 'is', null).execute();
            for (const { id } of rows) open.add(Number(id));
          }
          const inserts: unknown[][] = [];
          const completions: unknown[][] = [];
          for (const linked of linkedEntries) {
            const { entry } = linked;
            if (entry.intentId !== undefined && open.has(entry.intentId)) completions.push([...completionValues(entry, linked), entry.intentId]);
            else inserts.push(rowValues(entry, entry, linked, this.intentKeyOf(entry)));
          }
          for (let start = 0; start < completions.length; start += INSERT_CHUNK) {
            await transaction.executeQuery(CompiledQuery.raw(this.completionSql, [JSON.stringify(completions.slice(start, start + INSERT_CHUNK))]));
          }
          for (let start = 0; start < inserts.length; start += INSERT_CHUNK) {
            const chunk = inserts.slice(start, start + INSERT_CHUNK);
            await transaction.executeQuery(CompiledQuery.raw(this.batchSql, [JSON.stringify(chunk)]));
          }
          return newestLink(replicaId, head, linkedEntries);
        });
      } catch (error) {
        if (attempt >= APPEND_ATTEMPTS) throw this.translateError(error);
      }
    }
  }

  /** appendAudit on an embedded database, inside the transaction sync.run() opened: one prepared statement per row. */
  private appendNow(sync: SyncSqlite, replicaId: string, entries: readonly AuditEntry[]): AuditLink | undefined {
    const newest = sync.statement(HEAD_SQL).get([replicaId]) ?? sync.statement(ANCHOR_SQL).get([replicaId]);
    const head = newest === undefined ? undefined : { replicaId, seq: Number(newest.seq), hash: String(newest.hash ?? '') };
    if (entries.length === 0) return head;
    const linkedEntries = chainEntries(head, ofReplica(replicaId, entries));
    const complete = sync.statement(this.completeOneSql);
    const insert = sync.statement(this.insertSql);
    for (const linked of linkedEntries) {
      const { entry } = linked;
      // An intent row pruned meanwhile (or recovered by another process) is written as a new row instead.
      if (entry.intentId !== undefined && entry.intentId > 0 && complete.run([...completionValues(entry, linked), entry.intentId]) === 1) continue;
      insert.run(rowValues(entry, entry, linked, this.intentKeyOf(entry)));
    }
    return newestLink(replicaId, head, linkedEntries);
  }

  /**
   * Imports what journals of `databaseFile` left open (their gateway was killed, or dropped outcomes)
   * as pending rows, which the writer's start() then records as outcome unknown. An intent whose
   * completed row was already committed is skipped. Returns the rows imported.
   */
  importJournals(databaseFile: string): Promise<number> {
    return this.importSegments(leftoverSegments(databaseFile));
  }

  /** Stops the journal; what it still holds open (outcomes dropped under overload) becomes pending rows. */
  async closeJournal(): Promise<void> {
    if (this.journal !== undefined) await this.importSegments(this.journal.close());
  }

  private async importSegments(paths: readonly string[]): Promise<number> {
    const intents = readSegments(paths);
    let imported = 0;
    if (intents.length > 0) {
      // A completed row has its intent's `at`: the index on `at` bounds the search.
      const since = intents.reduce((oldest, { call }) => (call.at < oldest ? call.at : oldest), intents[0]!.call.at);
      imported = await this.run((db) =>
        db.transaction().execute(async (transaction) => {
          const done = new Set<string | null>();
          for (let start = 0; start < intents.length; start += INSERT_CHUNK) {
            const keys = intents.slice(start, start + INSERT_CHUNK).map(({ key }) => key);
            const written = await transaction.selectFrom('audit_records').select('intent').where('at', '>=', since).where('intent', 'in', keys).execute();
            for (const { intent } of written) done.add(intent);
          }
          const rows = intents.filter(({ key }) => !done.has(key)).map(({ key, call }) => rowValues(call, undefined, undefined, key));
          for (let start = 0; start < rows.length; start += INSERT_CHUNK) {
            await transaction.executeQuery(CompiledQuery.raw(this.batchSql, [JSON.stringify(rows.slice(start, start + INSERT_CHUNK))]));
          }
          return rows.length;
        }),
      );
    }
    removeSegments(paths);
    return imported;
  }

  auditHead(replicaId: string): Promise<AuditLink | undefined> {
    return this.run((db) => this.headIn(db, replicaId));
  }

  pendingAudit(replicaId: string): Promise<AuditRecord[]> {
    return this.run(async (db) =>
      (await db.selectFrom('audit_records').selectAll().where('replica_id', '=', replicaId).where('seq', 'is', null).orderBy('id', 'asc').execute()).map(toRecord),
    );
  }

  queryAudit(query: AuditQuery): Promise<Page<AuditRecord>> {
    checkPageLimit(query.limit);
    const ascending = query.order === 'asc';
    return this.run(async (db) => {
      let select = db
        .selectFrom('audit_records')
        .selectAll()
        .orderBy('id', ascending ? 'asc' : 'desc')
        .limit(query.limit + 1);
      if (query.cursor !== undefined) select = select.where('id', ascending ? '>' : '<', query.cursor);
      const { user } = query;
      if (user !== undefined) select = select.where((expression) => expression.or([expression('subject', '=', user), expression('user_name', '=', user)]));
      if (query.server !== undefined) select = select.where('server', '=', query.server);
      if (query.tool !== undefined) select = select.where('name', '=', query.tool);
      if (query.method !== undefined) select = select.where('method', '=', query.method);
      if (query.outcome !== undefined) select = select.where('outcome', '=', query.outcome);
      if (query.since !== undefined) select = select.where('at', '>=', query.since);
      if (query.until !== undefined) select = select.where('at', '<', query.until);
      const rows = await select.execute();
      const items = rows.slice(0, query.limit).map(toRecord);
      const last = items.at(-1);
      return rows.length > query.limit && last !== undefined ? { items, next: last.id } : { items };
    });
  }

  auditChain(replicaId: string, afterSeq: number, limit: number): Promise<AuditRecord[]> {
    return this.run(async (db) =>
      (
        await db
          .selectFrom('audit_records')
          .selectAll()
          .where('replica_id', '=', replicaId)
          .where('seq', '>', afterSeq)
          .orderBy('seq', 'asc')
          .limit(limit)
          .execute()
      ).map(toRecord),
    );
  }

  auditChainStarts(): Promise<AuditLink[]> {
    return this.run(async (db) => {
      const anchors = await db.selectFrom('audit_anchors').selectAll().execute();
      const replicas = await db.selectFrom('audit_records').select('replica_id').where('seq', 'is not', null).distinct().execute();
      const starts = new Map<string, AuditLink>(replicas.map(({ replica_id }) => [replica_id, { replicaId: replica_id, seq: 0, hash: AUDIT_GENESIS_HASH }]));
      for (const anchor of anchors) starts.set(anchor.replica_id, { replicaId: anchor.replica_id, seq: Number(anchor.seq), hash: anchor.hash });
      return [...starts.values()].sort((left, right) => compareText(left.replicaId, right.replicaId));
    });
  }

  auditTimeOfNewest(count: number): Promise<string | undefined> {
    return this.run(async (db) => {
      const row = await db.selectFrom('audit_records').select('at').orderBy('at', 'desc').limit(1).offset(count - 1).executeTakeFirst();
      return row?.at;
    });
  }

  async pruneAudit(before: string): Promise<number> {
    const starts = await this.auditChainStarts();
    return this.run((db) =>
      db.transaction().execute(async (transaction) => {
        let deleted = 0n;
        const prunedAt = new Date().toISOString();
        for (const { replicaId } of starts) {
          // The first row to keep is the oldest chained row recorded at or after `before`; everything
          // before it goes, so the remaining rows are one unbroken chain from the new anchor.
          const kept = await transaction
            .selectFrom('audit_records')
            .select('seq')
            .where('replica_id', '=', replicaId)
            .where('seq', 'is not', null)
            .where('at', '>=', before)
            .orderBy('seq', 'asc')
            .limit(1)
            .executeTakeFirst();
          let last = transaction
            .selectFrom('audit_records')
            .select(['seq', 'hash'])
            .where('replica_id', '=', replicaId)
            .where('seq', 'is not', null)
            .orderBy('seq', 'desc')
            .limit(1);
          if (kept !== undefined) last = last.where('seq', '<', Number(kept.seq));
          const anchor = await last.executeTakeFirst();
          if (anchor === undefined) continue;
          const seq = Number(anchor.seq);
          const result = await transaction.deleteFrom('audit_records').where('replica_id', '=', replicaId).where('seq', '<=', seq).executeTakeFirst();
          deleted += result.numDeletedRows;
          const link = { seq, hash: anchor.hash ?? '', pruned_at: prunedAt };
          await transaction
            .insertInto('audit_anchors')
            .values({ replica_id: replicaId, ...link })
            .onConflict((conflict) => conflict.column('replica_id').doUpdateSet(link))
            .execute();
        }
        const intents = await transaction.deleteFrom('audit_records').where('seq', 'is', null).where('at', '<', before).executeTakeFirst();
        return Number(deleted + intents.numDeletedRows);
      }),
    );
  }
}
