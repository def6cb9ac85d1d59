// Replicas of one MCP server for the routing tests: test/fixtures/replica-server.ts processes, each
// naming itself in every answer, and the `whoami` call that tells which replica served a session.
import assert from 'node:assert/strict';
import type { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { fixturePath, startNodeProcess, type NodeProcess } from '../fixtures/spawn-fixture.js';
import { textOf } from './results.js';

export interface Replica extends NodeProcess {
  readonly name: string;
  /** The slow tools this replica began, in order (from its "started <tool>" stderr lines). */
  readonly started: string[];
}

export async function startReplica(name: string, env: Record<string, string> = {}): Promise<Replica> {
  const started: string[] = [];
  const process = await startNodeProcess({
    script: fixturePath('replica-server.ts'),
    args: ['--http', '--port', '0'],
    env: { REPLICA: name, ...env },
    onStderrLine: (line) => {
      if (line.startsWith('started ')) started.push(line.slice('started '.length));
    },
  });
  return { ...process, name, started };
}

/** The name of the replica that answers the session's `whoami`. */
export async function whoami(client: Client): Promise<string> {
  const result = await client.callTool({ name: 'whoami', arguments: {} }, undefined, { timeout: 60_000 });
  assert.notEqual(result.isError, true, textOf(result));
  return textOf(result);
}
