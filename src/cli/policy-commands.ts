import type { Command } from 'commander';
import type { PolicyItem } from '../admin/index.js';
import type { AdminCliKit, AdminConnectionOptions } from './admin-cli-kit.js';
import { loadAdmin } from './lazy-modules.js';

/**
 * `gatehouse policies list|show|add|replace|remove`: roles and policies through a running gateway's
 * admin API, like the other admin commands. A policy file holds one policy as it would appear under
 * auth.policies in the config; the config file's own policies are listed but read-only here.
 */

type Spec = PolicyItem['spec'];

/** "roles:admin,ops users:alice", or "anyone" for a policy without `who`. */
function whoText(spec: Spec): string {
  if (spec.who === undefined) return 'anyone';
  const parts = Object.entries(spec.who).flatMap(([kind, names]) => (names.length > 0 ? [`${kind}:${names.join(',')}`] : []));
  // A `who` with every list empty matches no one: say so rather than print nothing.
  return parts.join(' ') || 'no one';
}

/** "tools:get_* prompts:review", or "all" when the policy names no kind and so covers every item. */
function itemsText(spec: Spec): string {
  const kinds = (['tools', 'prompts', 'resources'] as const).flatMap((kind) => (spec[kind] !== undefined ? [`${kind}:${spec[kind].join(',') || '(none)'}`] : []));
  return kinds.join(' ') || 'all';
}

function clip(text: string, width: number): string {
  return text.length > width ? `${text.slice(0, width - 3)}...` : text;
}

function sourceText(item: PolicyItem): string {
  return item.source === 'file' ? `config file, auth.policies[${item.position}] (read-only here)` : 'admin API';
}

async function readPolicyFile(kit: AdminCliKit, file: string): Promise<Record<string, unknown>> {
  const document = await kit.readDocument(file);
  if (Array.isArray(document)) throw kit.failure(`${file} holds a list; put one policy in each file (as one entry of auth.policies).`);
  if (typeof document !== 'object' || document === null) throw kit.failure(`${file} must hold one policy: an object with effect, who, servers, tools, ...`);
  return document as Record<string, unknown>;
}

export function registerPolicyCommands(program: Command, kit: AdminCliKit): void {
  const policies = program
    .command('policies')
    .description('Roles and policies: who may use which tools, prompts and resources (through a running gateway).');

  kit.connected(policies.command('list').description('List the policies in force, the config file\'s first')).action(
    kit.run(async (options: AdminConnectionOptions) => {
      const raw = await kit.clientFor(options).call('GET', '/policies');
      const { policyListSchema } = await loadAdmin();
      const { items } = kit.expect(policyListSchema, raw);
      if (options.json) return kit.printJson({ items });
      if (items.length === 0) return void process.stdout.write('no policies: every caller may use every tool, prompt and resource\n');
      kit.printTable(
        ['ID', 'SOURCE', 'EFFECT', 'WHO', 'SERVERS', 'ITEMS', 'WHEN'],
        items.map((item) => [item.id, item.source, item.spec.effect, whoText(item.spec), item.spec.servers.join(','), itemsText(item.spec), clip(item.spec.when ?? '-', 60)]),
      );
    }),
  );

  kit.connected(policies.command('show').description('Show a policy').argument('<id>')).action(
    kit.run(async (id: string, options: AdminConnectionOptions) => {
      const raw = await kit.clientFor(options).call('GET', `/policies/${encodeURIComponent(id)}`);
      if (options.json) return kit.printJson(raw);
      const { policyItemSchema } = await loadAdmin();
      const item = kit.expect(policyItemSchema, raw);
      const { spec } = item;
      kit.printFields([
        ['ID', item.id],
        ['Source', sourceText(item)],
        ['Description', spec.description],
        ['Effect', spec.effect],
        ['Who', whoText(spec)],
        ['Servers', spec.servers.join(', ')],
        ['Items', itemsText(spec)],
        ['When', spec.when],
        ['Created', item.createdAt],
        ['Updated', item.updatedAt],
      ]);
    }),
  );

  kit
    .connected(policies.command('add').description('Add a policy from a file'))
    .requiredOption('--file <file>', 'one policy, YAML or JSON, as one entry of auth.policies in the config')
    .action(
      kit.run(async (options: AdminConnectionOptions & { file: string }) => {
        const body = await readPolicyFile(kit, options.file);
        const raw = await kit.clientFor(options).call('POST', '/policies', body);
        if (options.json) return kit.printJson(raw);
        const { policyItemSchema } = await loadAdmin();
        const item = kit.expect(policyItemSchema, raw);
        process.stdout.write(`added ${item.id} (${item.spec.effect} ${whoText(item.spec)})\n`);
      }),
    );

  kit
    .connected(policies.command('replace').description('Replace a policy added through the API; it keeps its id').argument('<id>'))
    .requiredOption('--file <file>', 'the new policy, YAML or JSON')
    .action(
      kit.run(async (id: string, options: AdminConnectionOptions & { file: string }) => {
        const body = await readPolicyFile(kit, options.file);
        const raw = await kit.clientFor(options).call('PUT', `/policies/${encodeURIComponent(id)}`, body);
        if (options.json) return kit.printJson(raw);
        const { policyItemSchema } = await loadAdmin();
        const item = kit.expect(policyItemSchema, raw);
        process.stdout.write(`replaced ${item.id} (${item.spec.effect} ${whoText(item.spec)})\n`);
      }),
    );

  kit.connected(policies.command('remove').description('Remove a policy added through the API').argument('<id>')).action(
    kit.run(async (id: string, options: AdminConnectionOptions) => {
      await kit.clientFor(options).call('DELETE', `/policies/${encodeURIComponent(id)}`);
      if (options.json) kit.printJson({ removed: id });
      else process.stdout.write(`removed ${id}\n`);
    }),
  );
}
