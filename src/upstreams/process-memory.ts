import { readFile } from 'node:fs/promises';

/** A process tree deeper than this is not followed further (a fork bomb is not ours to measure). */
const MAX_DEPTH = 8;

/**
 * Resident memory of `pid` and its descendants, in MiB, from /proc (Linux); undefined when it cannot
 * be read (the process is gone, or no /proc). Children are found through /proc/<pid>/task/<pid>/children,
 * which costs one read per process instead of a scan of /proc; where the kernel lacks it only the
 * process itself is counted. Asynchronous reads: the sampler never blocks the event loop.
 */
export async function residentMemoryMb(pid: number): Promise<number | undefined> {
  const own = await residentKb(pid);
  if (own === undefined) return undefined;
  let total = own;
  let frontier = [pid];
  for (let depth = 0; depth < MAX_DEPTH && frontier.length > 0; depth++) {
    const children = (await Promise.all(frontier.map(childrenOf))).flat();
    const sizes = await Promise.all(children.map(residentKb));
    for (const size of sizes) total += size ?? 0;
    frontier = children;
  }
  return total / 1024;
}

async function residentKb(pid: number): Promise<number | undefined> {
  try {
    const status = await readFile(`/proc/${pid}/status`, 'utf8');
    const match = /^VmRSS:\s+(\d+)\s+kB/m.exec(status);
    return match === null ? undefined : Number(match[1]);
  } catch {
    return undefined;
  }
}

async function childrenOf(pid: number): Promise<number[]> {
  try {
    const text = await readFile(`/proc/${pid}/task/${pid}/children`, 'utf8');
    return text
      .split(' ')
      .filter((entry) => entry.length > 0)
      .map(Number);
  } catch {
    return [];
  }
}
