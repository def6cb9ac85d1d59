import { closeSync, openSync, readdirSync, readFileSync, unlinkSync, writeSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { randomToken } from '../core/index.js';
import type { AuditCall } from './audit-store.js';

/**
 * The intents of calls on the embedded store (SQLite), written to a journal beside the database file
 * rather than committed to it. An intent must be durable before its call goes upstream, once per call
 * with side effects; a SQLite commit of one row cost ~45–65 µs of CPU here (its WAL frames and locks
 * are a handful of syscalls), a line written to a file ~5 µs in isolation. Both survive a crash of
 * the gateway (the bytes are in the OS's page cache) and neither a power cut (the database runs WAL
 * with synchronous=NORMAL): the guarantee is the same.
 *
 * A journal is a series of segment files `<db>-intents.<pid>.<token>.<n>`, each created at its full
 * size (zeros) and filled with one line `[key, call]` per intent. The store writes each completed
 * call as a row carrying its intent's key, and tells the journal once that row is committed; a full
 * segment is retired, and deleted when none of its intents is open.
 * Whatever a process leaves (it was killed, or dropped an outcome) is imported into the database as
 * `pending` rows by the next open of that file (`leftoverSegments`), skipping intents whose completed
 * row is already there, and then the ordinary recovery records them with outcome `unknown`. A running
 * store does the same with a full segment whose intents are all either committed or abandoned (their
 * outcome was dropped under overload), so that drops do not keep segments and their descriptors.
 *
 * Intent ids the journal hands out are negative, so that they never collide with row ids (an intent
 * imported from a journal, or written to PostgreSQL, is a row with a positive id).
 */

/** A segment this big is retired and a new one begun. */
const SEGMENT_BYTES = 1024 * 1024;

interface Segment {
  readonly path: string;
  readonly fd: number;
  /** The first intent number written to it (ids are -number). */
  readonly first: number;
  bytes: number;
  /** Its intents whose completed row is not yet committed. */
  open: number;
  /** Its intents whose outcome will never come (dropped): they must become pending rows. */
  abandoned: number;
}

/** An intent as read back from a segment. */
export interface JournalIntent {
  readonly key: string;
  readonly call: AuditCall;
}

/** Journals open in this process, by their path prefix: a second store on the same file must not import them. */
const live = new Set<string>();

export class IntentJournal {
  private readonly prefix: string;
  private readonly token = randomToken(6);
  private readonly segments: Segment[] = [];
  private next = 1;
  private segmentNumber = 0;
  private closed = false;

  constructor(databaseFile: string) {
    this.prefix = `${databaseFile}-intents.${process.pid}.${this.token}`;
    live.add(this.prefix);
  }

  /** Writes the intents in one append and returns their (negative) ids, in order. */
  append(calls: readonly AuditCall[]): number[] {
    if (this.closed) throw new Error('the intent journal is closed');
    const segment = this.current();
    const ids: number[] = [];
    let text = '';
    for (const call of calls) {
      const id = -this.next++;
      ids.push(id);
      text += `${JSON.stringify([this.keyOf(id), call])}\n`;
    }
    const bytes = Buffer.from(text);
    // At an offset inside the segment's zeros, so the file never grows under a call (its space was
    // taken when the segment was made).
    for (let written = 0; written < bytes.length; ) written += writeSync(segment.fd, bytes, written, bytes.length - written, segment.bytes + written);
    segment.bytes += bytes.length;
    segment.open += calls.length;
    return ids;
  }

  /** The key a completed row carries for the intent `id` (unique across processes and restarts). */
  keyOf(id: number): string {
    return `${this.token}:${-id}`;
  }

  /**
   * The completed rows of these intents are committed. A segment left with nothing open is deleted;
   * one that holds abandoned intents is closed and its path returned instead, for the store to import
   * them (importSegments, which then deletes it).
   */
  complete(ids: readonly number[]): string[] {
    for (const id of ids) {
      const segment = this.segmentOf(-id);
      if (segment !== undefined) segment.open -= 1;
    }
    const toImport: string[] = [];
    const current = this.segments.at(-1);
    for (const segment of [...this.segments]) {
      if (segment.open > 0 || (segment === current && segment.bytes < SEGMENT_BYTES)) continue;
      this.segments.splice(this.segments.indexOf(segment), 1);
      closeSync(segment.fd);
      if (segment.abandoned > 0) toImport.push(segment.path);
      else unlinkSync(segment.path);
    }
    return toImport;
  }

  /** These intents will get no completed row (their outcome was dropped): no longer open, to be imported as pending. */
  abandon(ids: readonly number[]): void {
    for (const id of ids) {
      const segment = this.segmentOf(-id);
      if (segment === undefined) continue;
      segment.open -= 1;
      segment.abandoned += 1;
    }
  }

  /** Stops writing; the segments are left for the store to import what is still open (then it deletes them). */
  close(): string[] {
    if (this.closed) return [];
    this.closed = true;
    live.delete(this.prefix);
    const paths: string[] = [];
    for (const segment of this.segments.splice(0)) {
      closeSync(segment.fd);
      paths.push(segment.path);
    }
    return paths;
  }

  private current(): Segment {
    const last = this.segments.at(-1);
    if (last !== undefined && last.bytes < SEGMENT_BYTES) return last;
    const path = `${this.prefix}.${this.segmentNumber++}`;
    const fd = openSync(path, 'w', 0o600);
    // Its full size at once, written as zeros (readSegments stops at them): the space is taken now
    // rather than a page at a time under the calls, and each intent then rewrites cached pages.
    writeZeros(fd, SEGMENT_BYTES);
    const segment: Segment = { path, fd, first: this.next, bytes: 0, open: 0, abandoned: 0 };
    this.segments.push(segment);
    return segment;
  }

  private segmentOf(number: number): Segment | undefined {
    for (let index = this.segments.length - 1; index >= 0; index--) {
      const segment = this.segments[index]!;
      if (segment.first <= number) return segment;
    }
    return undefined;
  }
}

/** Segments of `databaseFile`'s journals whose process is gone (or closed its journal), each journal's oldest first. */
export function leftoverSegments(databaseFile: string): string[] {
  const directory = dirname(databaseFile);
  const stem = `${basename(databaseFile)}-intents.`;
  let names: string[];
  try {
    names = readdirSync(directory);
  } catch {
    return [];
  }
  const found: { path: string; prefix: string; number: number }[] = [];
  for (const name of names) {
    if (!name.startsWith(stem)) continue;
    const [pid, token, number] = name.slice(stem.length).split('.');
    if (pid === undefined || token === undefined || number === undefined || !/^\d+$/.test(pid) || !/^\d+$/.test(number)) continue;
    const prefix = join(directory, `${stem}${pid}.${token}`);
    if (live.has(prefix) || (Number(pid) !== process.pid && processAlive(Number(pid)))) continue;
    found.push({ path: join(directory, name), prefix, number: Number(number) });
  }
  return found.sort((left, right) => left.prefix.localeCompare(right.prefix) || left.number - right.number).map(({ path }) => path);
}

/** The intents in these segments; a line cut short by a crash in the middle of a write is skipped. */
export function readSegments(paths: readonly string[]): JournalIntent[] {
  const intents: JournalIntent[] = [];
  for (const path of paths) {
    const text = readFileSync(path, 'utf8');
    // The written part; the rest of the preallocated file is zeros.
    const end = text.indexOf('\0');
    for (const line of (end === -1 ? text : text.slice(0, end)).split('\n')) {
      if (line === '') continue;
      try {
        const [key, call] = JSON.parse(line) as [unknown, unknown];
        if (typeof key === 'string' && typeof call === 'object' && call !== null) intents.push({ key, call: call as AuditCall });
      } catch {
        // A partial last line: its call was never sent upstream (the append had not returned).
      }
    }
  }
  return intents;
}

export function removeSegments(paths: readonly string[]): void {
  for (const path of paths) {
    try {
      unlinkSync(path);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
    }
  }
}

const ZEROS = Buffer.alloc(64 * 1024);

function writeZeros(fd: number, length: number): void {
  for (let written = 0; written < length; ) written += writeSync(fd, ZEROS, 0, Math.min(ZEROS.length, length - written), written);
}

function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}
