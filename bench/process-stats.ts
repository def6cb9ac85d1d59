// What the benchmark reads about the processes it measures: CPU time from /proc/<pid>/stat and
// memory after a forced garbage collection, through the process's own inspector.
import { execFileSync } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { WebSocket } from 'undici';

/** Kernel clock ticks per second (USER_HZ), the unit of utime and stime in /proc/<pid>/stat. */
export function clockTicksPerSecond(): number {
  try {
    const ticks = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim());
    if (Number.isInteger(ticks) && ticks > 0) return ticks;
  } catch {
    // getconf missing: Linux has used 100 on every common architecture for decades.
  }
  return 100;
}

/** utime + stime of the whole process (all threads), in clock ticks; undefined without /proc. */
export async function cpuTicks(pid: number): Promise<number | undefined> {
  try {
    const stat = await readFile(`/proc/${pid}/stat`, 'utf8');
    // Field 2 (comm) is in parentheses and may contain spaces: count fields after the last ')'.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    // After comm, field 3 (state) is index 0, so utime (14) and stime (15) are at 11 and 12.
    return Number(fields[11]) + Number(fields[12]);
  } catch {
    return undefined;
  }
}

export async function rssBytes(pid: number): Promise<number | undefined> {
  try {
    const status = await readFile(`/proc/${pid}/status`, 'utf8');
    const match = /^VmRSS:\s+(\d+) kB$/m.exec(status);
    return match?.[1] === undefined ? undefined : Number(match[1]) * 1024;
  } catch {
    return undefined;
  }
}

export interface MemorySample {
  rssBytes: number;
  heapUsedBytes: number | undefined;
  /** Whether a full GC ran right before the sample. */
  collected: boolean;
}

/** The ws:// URL node prints to stderr when started with --inspect. */
export function inspectorUrlFromLine(line: string): string | undefined {
  return /^Debugger listening on (ws:\/\/\S+)$/.exec(line)?.[1];
}

/**
 * Forces a full GC in the process (DevTools protocol HeapProfiler.collectGarbage) and reads
 * process.memoryUsage() there. Without an inspector URL it falls back to RSS from /proc, uncollected.
 */
export async function memoryAfterGc(pid: number, inspectorUrl: string | undefined): Promise<MemorySample | undefined> {
  if (inspectorUrl !== undefined) {
    try {
      return await inspectMemory(inspectorUrl);
    } catch (error) {
      process.stderr.write(`bench: inspector memory sample failed (${String(error)}), using /proc without GC\n`);
    }
  }
  const rss = await rssBytes(pid);
  return rss === undefined ? undefined : { rssBytes: rss, heapUsedBytes: undefined, collected: false };
}

async function inspectMemory(inspectorUrl: string): Promise<MemorySample> {
  const socket = new WebSocket(inspectorUrl);
  const pending = new Map<number, { resolve: (result: unknown) => void; reject: (error: Error) => void }>();
  let nextId = 1;
  socket.addEventListener('message', (event) => {
    const message = JSON.parse(String(event.data)) as { id?: number; result?: unknown; error?: { message: string } };
    const waiter = message.id === undefined ? undefined : pending.get(message.id);
    if (waiter === undefined) return;
    pending.delete(message.id!);
    if (message.error !== undefined) waiter.reject(new Error(message.error.message));
    else waiter.resolve(message.result);
  });
  const call = (method: string, params: Record<string, unknown> = {}): Promise<unknown> =>
    new Promise((resolve, reject) => {
      const id = nextId++;
      pending.set(id, { resolve, reject });
      socket.send(JSON.stringify({ id, method, params }));
    });
  await new Promise<void>((resolve, reject) => {
    socket.addEventListener('open', () => resolve(), { once: true });
    socket.addEventListener('error', () => reject(new Error(`cannot connect to ${inspectorUrl}`)), { once: true });
  });
  try {
    // Twice: the first pass can leave objects whose finalizers free more on the second.
    await call('HeapProfiler.collectGarbage');
    await call('HeapProfiler.collectGarbage');
    const evaluated = (await call('Runtime.evaluate', {
      expression: 'JSON.stringify(process.memoryUsage())',
      returnByValue: true,
    })) as { result?: { value?: unknown } };
    const usage = JSON.parse(String(evaluated.result?.value)) as { rss: number; heapUsed: number };
    return { rssBytes: usage.rss, heapUsedBytes: usage.heapUsed, collected: true };
  } finally {
    socket.close();
  }
}
