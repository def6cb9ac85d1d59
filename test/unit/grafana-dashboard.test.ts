// The Grafana dashboard in docs/grafana must not rot: it parses, its panels are well formed, and
// every metric its PromQL names is one a real gateway exports after a real call.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { Gateway } from '../../src/app.js';
import { configSchema } from '../../src/config/index.js';
import { createLogger } from '../../src/observability/index.js';
import { repoRoot } from '../fixtures/spawn-fixture.js';
import { everythingStdio } from '../helpers/gateway-process.js';

interface Target {
  expr?: string;
}
interface Panel {
  id: number;
  type: string;
  title: string;
  gridPos: { x: number; y: number; w: number; h: number };
  datasource?: { uid: string };
  targets?: Target[];
}
interface Dashboard {
  uid: string;
  title: string;
  panels: Panel[];
  templating: { list: { name: string; type: string; query: unknown }[] };
}

const dashboard = JSON.parse(readFileSync(join(repoRoot, 'docs/grafana/gatehouse-dashboard.json'), 'utf8')) as Dashboard;

/** PromQL functions, aggregations and keywords: every other bare identifier in an expression is a metric. */
const PROMQL_WORDS = new Set([
  'sum', 'min', 'max', 'avg', 'count', 'rate', 'irate', 'increase', 'delta', 'histogram_quantile', 'clamp_min', 'clamp_max',
  'abs', 'and', 'or', 'unless', 'bool', 'offset', 'topk', 'bottomk', 'time', 'vector', 'absent',
]);

/** The metric names a PromQL expression reads. */
function metricNamesOf(expr: string): string[] {
  const bare = expr
    .replace(/"(?:[^"\\]|\\.)*"/g, '""') // strings (label values, $variables)
    .replace(/\{[^}]*\}/g, '') // label matchers
    .replace(/\[[^\]]*\]/g, '') // ranges
    .replace(/\b(?:by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)/g, '') // label lists
    .replace(/\b\d+(?:\.\d+)?(?:e[+-]?\d+)?\b/gi, ''); // numbers
  return (bare.match(/[A-Za-z_:][A-Za-z0-9_:]*/g) ?? []).filter((word) => !PROMQL_WORDS.has(word));
}

/** Every metric the dashboard queries, in panels and in template variables. */
function dashboardMetrics(): Set<string> {
  const names = new Set<string>();
  for (const panel of dashboard.panels) for (const target of panel.targets ?? []) for (const name of metricNamesOf(target.expr ?? '')) names.add(name);
  for (const variable of dashboard.templating.list) {
    const query = typeof variable.query === 'string' ? variable.query : (variable.query as { query?: string } | undefined)?.query;
    const metric = /label_values\(\s*([A-Za-z_:][A-Za-z0-9_:]*)/.exec(query ?? '')?.[1];
    if (metric !== undefined) names.add(metric);
  }
  return names;
}

describe('the Grafana dashboard', () => {
  test('parses and has well-formed panels with unique ids, each querying the chosen data source', () => {
    assert.equal(dashboard.uid, 'gatehouse-overview');
    const ids = dashboard.panels.map((panel) => panel.id);
    assert.equal(new Set(ids).size, ids.length, 'panel ids are unique');
    for (const panel of dashboard.panels) {
      assert.ok(panel.title.length > 0 && panel.gridPos.w > 0 && panel.gridPos.x + panel.gridPos.w <= 24, `panel ${panel.id} layout`);
      if (panel.type === 'row') continue;
      assert.equal(panel.datasource?.uid, '${datasource}', `panel "${panel.title}" uses the data source variable`);
      assert.ok((panel.targets ?? []).length > 0 && panel.targets!.every((target) => (target.expr ?? '').length > 0), `panel "${panel.title}" has queries`);
    }
    assert.ok(dashboard.templating.list.some((variable) => variable.name === 'datasource' && variable.type === 'datasource'));
  });

  test('reads the metrics it is meant to show', () => {
    const names = dashboardMetrics();
    for (const name of ['gatehouse_requests_total', 'gatehouse_request_duration_seconds_bucket', 'gatehouse_inflight_requests', 'gatehouse_sessions', 'gatehouse_upstream_up', 'gatehouse_auth_failures_total']) {
      assert.ok(names.has(name), `the dashboard queries ${name}`);
    }
    // The extraction itself: label names, functions and numbers are not taken for metrics.
    assert.deepEqual(
      metricNamesOf('histogram_quantile(0.95, sum by (le, server) (rate(x_bucket{a=~"$b", c!="d"}[$__rate_interval]))) / clamp_min(y, 1e-9) > 0'),
      ['x_bucket', 'y'],
    );
  });

  describe('against a running gateway', () => {
    let gateway: Gateway;
    let url: string;

    before(async () => {
      const config = configSchema.parse({
        store: { url: 'memory:' },
        registry: { healthCheckIntervalMs: 0, watchConfig: false },
        servers: { everything: { ...everythingStdio, isolation: 'shared' } },
      });
      gateway = await Gateway.create(config, { logger: createLogger({ level: 'silent' }) });
      url = await gateway.listen({ port: 0 });
    });

    after(async () => {
      await gateway?.close();
    });

    test('every metric the dashboard queries is exported after a call', async () => {
      const client = new Client({ name: 'dashboard-test', version: '1.0.0' });
      await client.connect(new StreamableHTTPClientTransport(new URL(`${url}/mcp`)));
      try {
        const result = await client.callTool({ name: 'everything__echo', arguments: { message: 'hello' } });
        assert.notEqual(result.isError, true);
        const response = await fetch(`${url}/metrics`);
        assert.equal(response.status, 200);
        assert.match(response.headers.get('content-type') ?? '', /^text\/plain; version=0\.0\.4/);
        const exported = new Set((await response.text()).split('\n').filter((line) => line !== '' && !line.startsWith('#')).map((line) => /^[A-Za-z_:][A-Za-z0-9_:]*/.exec(line)![0]));
        const missing = [...dashboardMetrics()].filter((name) => !exported.has(name));
        assert.deepEqual(missing, [], 'metrics the dashboard queries but the gateway does not export');
      } finally {
        await client.close();
      }
    });
  });
});
