import type { Command } from 'commander';
import type { LimitRuleItem } from '../admin/index.js';
import type { AdminCliKit, AdminConnectionOptions } from './admin-cli-kit.js';
import { loadAdmin } from './lazy-modules.js';

/**
 * `gatehouse limit list|get|set|delete`: limit rules through a running gateway's admin API, like the
 * other admin commands. A rule file holds one rule as it would appear under limits.rules in the
 * config; the config file's own rules are listed but read-only here.
 */

type Spec = LimitRuleItem['spec'];

/** 60000 → "1m": durations as the config file writes them. */
function durationText(ms: number): string {
  for (const [unit, size] of [['d', 86_400_000], ['h', 3_600_000], ['m', 60_000], ['s', 1_000]] as const) {
    if (ms % size === 0) return `${ms / size}${unit}`;
  }
  return `${ms}ms`;
}

/** "10/1m burst 20 · 1000/day · 4 at once (+16 waiting)". */
function limitsText(spec: Spec): string {
  const parts: string[] = [];
  if (spec.rate !== undefined) parts.push(`${spec.rate.requests}/${durationText(spec.rate.per)}${spec.rate.burst !== undefined ? ` burst ${spec.rate.burst}` : ''}`);
  if (spec.quota !== undefined) parts.push(`${spec.quota.requests}/${spec.quota.per}`);
  if (spec.concurrency !== undefined) {
    const { max, queue } = spec.concurrency;
    parts.push(`${max} at once${queue > 0 ? ` (+${queue} waiting)` : ''}`);
  }
  return parts.join(' · ');
}

/** "servers:github tools:create_*", or "all calls". */
function matchText(spec: Spec): string {
  const { match } = spec;
  const parts: string[] = [];
  if (!(match.servers.length === 1 && match.servers[0] === '*')) parts.push(`servers:${match.servers.join(',')}`);
  for (const kind of ['tools', 'prompts', 'resources'] as const) if (match[kind] !== undefined) parts.push(`${kind}:${match[kind].join(',') || '(none)'}`);
  if (match.who !== undefined) {
    const who = Object.entries(match.who).flatMap(([kind, names]) => (names.length > 0 ? [`${kind}:${names.join(',')}`] : []));
    parts.push(`who(${who.join(' ') || 'no one'})`);
  }
  return parts.join(' ') || 'all calls';
}

function sourceText(item: LimitRuleItem): string {
  return item.source === 'file' ? `config file, limits.rules[${item.position}] (read-only here)` : 'admin API';
}

async function readRuleFile(kit: AdminCliKit, file: string): Promise<Record<string, unknown>> {
  const document = await kit.readDocument(file);
  if (typeof document !== 'object' || document === null || Array.isArray(document)) {
    throw kit.failure(`${file} must hold one limit rule: an object with match, key, rate, quota or concurrency (one entry of limits.rules).`);
  }
  return document as Record<string, unknown>;
}

export function registerLimitCommands(program: Command, kit: AdminCliKit): void {
  const limits = program.command('limit').description('Rate limits, quotas and concurrency limits on calls (through a running gateway).');

  kit.connected(limits.command('list').description('List the limit rules in force, the config file\'s first')).action(
    kit.run(async (options: AdminConnectionOptions) => {
      const raw = await kit.clientFor(options).call('GET', '/limits');
      const { limitRuleListSchema } = await loadAdmin();
      const { items } = kit.expect(limitRuleListSchema, raw);
      if (options.json) return kit.printJson({ items });
      if (items.length === 0) return void process.stdout.write('no limit rules: calls are not limited\n');
      kit.printTable(
        ['NAME', 'SOURCE', 'MATCH', 'KEY', 'LIMITS'],
        items.map((item) => [item.name, item.source, matchText(item.spec), item.spec.key.join(',') || '-', limitsText(item.spec)]),
      );
    }),
  );

  kit.connected(limits.command('get').description('Show a limit rule').argument('<name>')).action(
    kit.run(async (name: string, options: AdminConnectionOptions) => {
      const raw = await kit.clientFor(options).call('GET', `/limits/${encodeURIComponent(name)}`);
      if (options.json) return kit.printJson(raw);
      const { limitRuleItemSchema } = await loadAdmin();
      const item = kit.expect(limitRuleItemSchema, raw);
      kit.printFields([
        ['Name', item.name],
        ['Source', sourceText(item)],
        ['Match', matchText(item.spec)],
        ['Key', item.spec.key.join(', ') || '(one counter for every matching call)'],
        ['Limits', limitsText(item.spec)],
        ['Created', item.createdAt],
        ['Updated', item.updatedAt],
      ]);
    }),
  );

  kit
    .connected(limits.command('set').description('Create a limit rule, or replace the one of that name (made through the API)').argument('<name>'))
    .requiredOption('--file <file>', 'one rule, YAML or JSON, as one entry of limits.rules in the config (its name may be left out)')
    .action(
      kit.run(async (name: string, options: AdminConnectionOptions & { file: string }) => {
        const rule = await readRuleFile(kit, options.file);
        if (rule.name !== undefined && rule.name !== name) throw kit.failure(`${options.file} names the rule "${String(rule.name)}", not "${name}".`);
        const client = kit.clientFor(options);
        const { limitRuleItemSchema, limitRuleListSchema } = await loadAdmin();
        // The list, not a GET of the one rule: a 404 and an unreachable gateway would read alike here.
        const { items } = kit.expect(limitRuleListSchema, await client.call('GET', '/limits'));
        const exists = items.some((item) => item.name === name);
        const raw = exists
          ? await client.call('PUT', `/limits/${encodeURIComponent(name)}`, { ...rule, name })
          : await client.call('POST', '/limits', { ...rule, name });
        if (options.json) return kit.printJson(raw);
        const item = kit.expect(limitRuleItemSchema, raw);
        process.stdout.write(`${exists ? 'replaced' : 'created'} ${item.name} (${limitsText(item.spec)})\n`);
      }),
    );

  kit.connected(limits.command('delete').description('Remove a limit rule made through the API').argument('<name>')).action(
    kit.run(async (name: string, options: AdminConnectionOptions) => {
      await kit.clientFor(options).call('DELETE', `/limits/${encodeURIComponent(name)}`);
      if (options.json) kit.printJson({ deleted: name });
      else process.stdout.write(`deleted ${name}\n`);
    }),
  );
}
