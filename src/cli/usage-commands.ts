import { Option, type Command } from 'commander';
import type { UsageGroup } from '../admin/index.js';
import type { AdminCliKit, AdminConnectionOptions } from './admin-cli-kit.js';
import { loadAdmin } from './lazy-modules.js';

/**
 * `gatehouse usage`: calls, errors, refusals and p50/p95 latency by server, tool, user or team over a
 * time window, from a running gateway's `GET /admin/api/v1/usage` (which aggregates the audit trail).
 */

type Dimension = 'server' | 'tool' | 'user' | 'team';

interface UsageOptions extends AdminConnectionOptions {
  by?: Dimension;
  since?: string;
  until?: string;
}

/** The label columns of each grouping; `tool` groups by server and tool. */
const LABELS: Record<Dimension, readonly (keyof UsageGroup & string)[]> = {
  server: ['server'],
  tool: ['server', 'tool'],
  user: ['user'],
  team: ['team'],
};

function milliseconds(value: number | null): string {
  return value === null ? '-' : value.toFixed(1);
}

export function registerUsageCommand(program: Command, kit: AdminCliKit): void {
  kit
    .connected(program.command('usage').description('Calls, errors, refusals and p50/p95 latency by server, tool, user or team (from the audit trail)'))
    .addOption(new Option('--by <dimension>', 'what to group by (default: server)').choices(['server', 'tool', 'user', 'team']))
    .option('--since <when>', 'start of the window: an ISO-8601 time, or a duration meaning that long ago (default 24h)')
    .option('--until <when>', 'end of the window (same forms; default now)')
    .action(
      kit.run(async (options: UsageOptions) => {
        const query = new URLSearchParams();
        for (const key of ['by', 'since', 'until'] as const) {
          const value = options[key];
          if (value !== undefined) query.set(key, value);
        }
        const raw = await kit.clientFor(options).call('GET', `/usage?${query}`);
        if (options.json) return kit.printJson(raw);
        const { usageReportSchema } = await loadAdmin();
        const report = kit.expect(usageReportSchema, raw);
        if (report.truncated) process.stderr.write(`gatehouse: the window holds more records than the gateway counts; only the oldest ${report.scanned} were.\n`);
        if (report.groups.length === 0) return void process.stdout.write(`no calls since ${report.since}\n`);
        const labels = LABELS[report.by];
        kit.printTable(
          [...labels.map((label) => label.toUpperCase()), 'CALLS', 'ERRORS', 'DENIED', 'P50 MS', 'P95 MS'],
          report.groups.map((group) => [
            // An empty label is a call without one: no resolved server, no team.
            ...labels.map((label) => String(group[label] ?? '') || '-'),
            String(group.calls),
            String(group.errors),
            String(group.denied),
            milliseconds(group.p50Ms),
            milliseconds(group.p95Ms),
          ]),
        );
      }),
    );
}
