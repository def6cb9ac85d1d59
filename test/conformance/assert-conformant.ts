/**
 * What "conformant" means for Gatehouse's tests: the suite version they pin, the scenarios it must
 * run, and the assertion every target (the fixture, Gatehouse in front of it) must meet.
 */
import assert from 'node:assert/strict';
import { runConformance, type ConformanceResult } from './run-conformance.js';

export const CONFORMANCE_SUITE_VERSION = '0.1.16';

/**
 * The 30 scenarios of the 0.1.16 "active" suite: what every target must pass. They are also, in the
 * same order, 0.2.0-alpha.12's `requirements/2025-11-25.yaml` (modern-conformance.test.ts).
 */
export const ACTIVE_SERVER_SCENARIOS: readonly string[] = [
  'server-initialize',
  'logging-set-level',
  'ping',
  'completion-complete',
  'tools-list',
  'tools-call-simple-text',
  'tools-call-image',
  'tools-call-audio',
  'tools-call-embedded-resource',
  'tools-call-mixed-content',
  'tools-call-with-logging',
  'tools-call-error',
  'tools-call-with-progress',
  'tools-call-sampling',
  'tools-call-elicitation',
  'elicitation-sep1034-defaults',
  'server-sse-multiple-streams',
  'elicitation-sep1330-enums',
  'resources-list',
  'resources-read-text',
  'resources-read-binary',
  'resources-templates-read',
  'resources-subscribe',
  'resources-unsubscribe',
  'prompts-list',
  'prompts-get-simple',
  'prompts-get-with-args',
  'prompts-get-embedded-resource',
  'prompts-get-with-image',
  'dns-rebinding-protection',
];

/** Scenarios 0.1.16 marks pending (left out of "active"); the fixture passes them too. */
export const PENDING_SERVER_SCENARIOS: readonly string[] = ['json-schema-2020-12', 'server-sse-polling'];

function explain(result: ConformanceResult): string {
  return result.failed.map(({ name, detail }) => `  ${name}: ${detail}`).join('\n');
}

/**
 * Runs every 0.1.16 server scenario (active and pending) against `url` and asserts each passes.
 * This is the function to call for any target that should be fully conformant, e.g. Gatehouse
 * with the fixture as its only upstream.
 */
export async function assertFullyConformant(url: string): Promise<ConformanceResult> {
  const result = await runConformance({ url, suiteVersion: CONFORMANCE_SUITE_VERSION, suite: 'all' });
  assert.deepEqual(result.failed, [], `conformance failures against ${url}:\n${explain(result)}`);
  assert.deepEqual(
    [...result.passed].sort(),
    [...ACTIVE_SERVER_SCENARIOS, ...PENDING_SERVER_SCENARIOS].sort(),
    'the suite ran a different set of scenarios than this test expects; update the lists above',
  );
  return result;
}
