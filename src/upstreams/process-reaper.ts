import { spawn, type ChildProcess } from 'node:child_process';

/**
 * The watchdog, run as `node -e`: it holds a list of process groups and, when its stdin ends (the
 * gateway exited, however: SIGKILL and OOM kills included, since the kernel closes the pipe), kills
 * them: SIGTERM, then SIGKILL after a grace period. It ignores the signals a terminal sends to the
 * gateway's group, and leads its own group, so nothing but the end of its stdin ends it.
 */
const REAPER_PROGRAM = `
const groups = new Set();
for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP']) process.on(signal, () => {});
let pending = '';
process.stdin.setEncoding('utf8');
process.stdin.on('data', (chunk) => {
  pending += chunk;
  let end;
  while ((end = pending.indexOf('\\n')) !== -1) {
    const [op, id] = pending.slice(0, end).split(' ');
    pending = pending.slice(end + 1);
    const pid = Number(id);
    if (!Number.isInteger(pid) || pid <= 1) continue;
    if (op === '+') groups.add(pid); else groups.delete(pid);
  }
});
const signalAll = (signal) => { for (const pid of groups) { try { process.kill(-pid, signal); } catch {} } };
process.stdin.on('end', () => {
  if (groups.size === 0) process.exit(0);
  signalAll('SIGTERM');
  setTimeout(() => { signalAll('SIGKILL'); process.exit(0); }, Number(process.argv[1]) || 2000);
});
`;

/**
 * No orphaned server processes, even when the gateway is killed with SIGKILL: every stdio server's
 * process group is registered with one small watchdog process per gateway process (Linux has
 * PR_SET_PDEATHSIG, but Node cannot set it for a child, and it would not reach grandchildren such
 * as the node that `npx` starts). A normal shutdown kills the groups itself and unregisters them.
 */
export class ProcessReaper {
  private static instance: ProcessReaper | undefined;
  private child: ChildProcess | undefined;

  private constructor(private readonly graceMs: number) {}

  /** The process's one reaper, started on first use. */
  static shared(graceMs = 2_000): ProcessReaper {
    ProcessReaper.instance ??= new ProcessReaper(graceMs);
    return ProcessReaper.instance;
  }

  /** Kill the group led by `pid` if this process dies. */
  watch(pid: number): void {
    this.send(`+ ${pid}\n`);
  }

  /** The group is gone (or was killed by us): forget it, so a reused pid is never hit. */
  unwatch(pid: number): void {
    this.send(`- ${pid}\n`);
  }

  private send(line: string): void {
    const child = this.running();
    child?.stdin?.write(line);
  }

  private running(): ChildProcess | undefined {
    const current = this.child;
    if (current !== undefined && current.exitCode === null && current.signalCode === null && current.stdin?.writable === true) return current;
    try {
      const child = spawn(process.execPath, ['-e', REAPER_PROGRAM, String(this.graceMs)], {
        stdio: ['pipe', 'ignore', 'ignore'],
        detached: true,
        windowsHide: true,
      });
      child.on('error', () => (this.child = undefined));
      child.stdin?.on('error', () => (this.child = undefined));
      // Neither the watchdog nor its pipe keeps this process alive.
      child.unref();
      (child.stdin as unknown as { unref?: () => void } | null)?.unref?.();
      this.child = child;
      return child;
    } catch {
      return undefined;
    }
  }
}
