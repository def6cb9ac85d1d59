// CONVENTIONS rule 2: a part imports another only through its index.ts, and only in the direction
// DESIGN.md's table allows. This test reads the imports of every file under src/ and fails on any
// import that goes upward or around an index.
import assert from 'node:assert/strict';
import { readFileSync, readdirSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { test } from 'node:test';
import { repoRoot } from '../fixtures/spawn-fixture.js';

/** What each part may import (DESIGN.md "may use", plus `core` everywhere and the observability logger where it logs). */
const MAY_USE: Record<string, readonly string[]> = {
  core: [],
  protocol: ['core'],
  observability: ['core'],
  session: ['core', 'protocol'],
  pipeline: ['core', 'protocol', 'session', 'registry'],
  // Upstream connectors read their server's config block (types only).
  upstreams: ['core', 'protocol', 'observability', 'config'],
  router: ['core', 'protocol', 'upstreams', 'observability'],
  registry: ['core', 'protocol'],
  config: ['core', 'registry'],
  frontends: ['core', 'protocol', 'session', 'pipeline', 'observability'],
  admin: ['core', 'protocol', 'registry', 'router', 'observability', 'config'],
  cluster: ['core', 'protocol', 'session', 'pipeline', 'observability'],
  cli: ['core', 'config', 'frontends', 'admin', 'registry', 'observability'],
};

function sourceFiles(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    return statSync(path).isDirectory() ? sourceFiles(path) : name.endsWith('.ts') ? [path] : [];
  });
}

test('every part imports only the parts below it, through their index', () => {
  const src = join(repoRoot, 'src');
  const problems: string[] = [];
  for (const file of sourceFiles(src)) {
    const [part] = relative(src, file).split('/');
    if (part === undefined || part.endsWith('.ts')) continue; // app.ts composes everything
    const allowed = MAY_USE[part];
    if (!allowed) {
      problems.push(`${part}: a part DESIGN.md does not list`);
      continue;
    }
    const text = readFileSync(file, 'utf8');
    for (const match of text.matchAll(/from '\.\.\/(?:\.\.\/)*([a-z-]+)(\/[^']*)?'/g)) {
      const [, target, rest] = match;
      if (target === undefined || target === part) continue;
      const where = relative(repoRoot, file);
      if (!allowed.includes(target)) problems.push(`${where} imports ${target}, which ${part} may not use`);
      // A part may have sub-parts with their own index (protocol/eras/index.ts).
      else if (!/^(\/[a-z-]+)*\/index\.js$/.test(rest ?? '')) problems.push(`${where} imports ${target}${rest ?? ''} instead of ${target}/index.js`);
    }
  }
  assert.deepEqual(problems, []);
});
