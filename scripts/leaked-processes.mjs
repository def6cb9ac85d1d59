// Finds the processes a test run left behind: those still running whose environment carries the
// run's marker (GATEHOUSE_TEST_RUN, which every process the tests start inherits), so that another
// run or a gateway of the developer's is never taken for a leak. Issue #6: "no leaked child processes
// after every test (check the process table)". Linux only (/proc). Upstream servers a gateway spawns
// get a minimal environment without the marker; the watchdog kills those with their gateway, and
// test/e2e/no-orphans.test.ts checks that.
import { readdirSync, readFileSync } from 'node:fs';

export const RUN_MARKER = 'GATEHOUSE_TEST_RUN';

/** The processes (zombies excepted) whose environment has RUN_MARKER=`runId`. */
export function processesOfRun(runId) {
  const marker = `${RUN_MARKER}=${runId}`;
  const leaked = [];
  let entries;
  try {
    entries = readdirSync('/proc');
  } catch {
    return leaked;
  }
  for (const entry of entries) {
    const pid = Number(entry);
    if (!Number.isInteger(pid) || pid === process.pid) continue;
    let commandLine;
    try {
      if (!readFileSync(`/proc/${pid}/environ`, 'utf8').split('\0').includes(marker)) continue;
      const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
      // The command name (field 2) may hold spaces and parentheses: the state follows the last ')'.
      if (stat[stat.lastIndexOf(')') + 2] === 'Z') continue;
      commandLine = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').join(' ').trim();
    } catch {
      continue; // gone, or not ours to read
    }
    leaked.push({ pid, commandLine });
  }
  return leaked;
}
