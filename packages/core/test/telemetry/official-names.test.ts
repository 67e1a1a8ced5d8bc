/**
 * The default names are the official kit's, so a team's dashboards keep working after swapping
 * `@databricks/lakebase` / AppKit's `lakebase()` for ours: `lakebase.query.duration` (ms) for
 * every query — through `lakebase.query` and through `asUser(req).query` alike —, the span
 * `lakebase.query`, `lakebase.pool.connections.*`, `lakebase.pool.errors` and
 * `lakebase.token.refresh.duration`; `names: 'both'` adds the semantic conventions' beside them.
 */
import { type LocalLakebase, startLocalLakebase } from '@lakebase-kit/local';
import type { DataPoint, Histogram, ResourceMetrics } from '@opentelemetry/sdk-metrics';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { createLakebase } from '../../src/lakebase.js';
import { INSTRUMENTATION_SCOPE } from '../../src/telemetry/telemetry.js';
import { ALICE, capturingLogger } from '../support/obo-helpers.js';
import { installOtelSdk, settle } from '../support/otel.js';

let lb: LocalLakebase;
const { reader, spans } = installOtelSdk();
const logger = capturingLogger();

beforeAll(async () => {
  lb = await startLocalLakebase({ users: [ALICE] });
});
afterAll(async () => {
  await lb?.stop();
});

type Point = DataPoint<number | Histogram>;

async function collect(): Promise<Map<string, { unit: string; points: Point[] }>> {
  await settle();
  const { resourceMetrics } = (await reader.collect()) as { resourceMetrics: ResourceMetrics };
  const out = new Map<string, { unit: string; points: Point[] }>();
  for (const scope of resourceMetrics.scopeMetrics) {
    if (scope.scope.name !== INSTRUMENTATION_SCOPE) continue;
    for (const metric of scope.metrics) {
      const entry = out.get(metric.descriptor.name) ?? { unit: metric.descriptor.unit, points: [] };
      entry.points.push(...(metric.dataPoints as Point[]));
      out.set(metric.descriptor.name, entry);
    }
  }
  return out;
}

const count = (points: Point[] = []) =>
  points.reduce((n, p) => n + ((p.value as Histogram).count ?? 0), 0);

describe("telemetry names: the official kit's by default", () => {
  it('every query, as the SP and as a user, is a lakebase.query span and a lakebase.query.duration point (ms)', async () => {
    const lakebase = createLakebase({ env: lb.env, logger });
    try {
      const before = count((await collect()).get('lakebase.query.duration')?.points);
      spans.reset();
      for (let i = 0; i < 5; i++) await lakebase.query('select $1::int as i', [i]);
      const alice = lakebase.asUser(await lb.userHeaders(ALICE));
      for (let i = 0; i < 5; i++) await alice.query('select current_user as who');
      const collected = await collect();
      const duration = collected.get('lakebase.query.duration');
      expect(duration?.unit).toBe('ms');
      expect(count(duration?.points) - before).toBe(10);
      // parameterized statements are labelled by their text (its first 100 characters), others by
      // their command: never literals
      const labels = new Set(duration?.points.map((p) => p.attributes['db.statement']));
      expect(labels).toContain('select $1::int as i');
      expect(labels).toContain('SELECT');
      expect(collected.has('db.client.operation.duration')).toBe(false);
      const querySpans = spans.getFinishedSpans().filter((s) => s.name === 'lakebase.query');
      expect(querySpans).toHaveLength(10);
      expect(querySpans[0]?.attributes).toMatchObject({
        'db.system': 'lakebase',
        'db.statement': 'select $1::int as i',
        'db.user': lb.servicePrincipal.clientId,
      });
      // no user's email in any attribute
      expect(JSON.stringify(querySpans.map((s) => s.attributes))).not.toContain(ALICE);
      expect(JSON.stringify(duration?.points.map((p) => p.attributes))).not.toContain(ALICE);
    } finally {
      await lakebase.close();
    }
  });

  it('lakebase.pool.connections.*, lakebase.token.refresh.duration and lakebase.pool.errors', async () => {
    const lakebase = createLakebase({ env: lb.env, logger, max: 2 });
    try {
      await Promise.all([lakebase.query('select 1'), lakebase.query('select 2')]);
      const collected = await collect();
      const total = collected.get('lakebase.pool.connections.total')?.points ?? [];
      expect(
        total.find((p) => p.attributes['db.client.connection.pool.name'] === 'lakebase:sp')?.value,
      ).toBe(2);
      expect(collected.has('lakebase.pool.connections.idle')).toBe(true);
      expect(collected.has('lakebase.pool.connections.waiting')).toBe(true);
      expect(
        count(collected.get('lakebase.token.refresh.duration')?.points),
      ).toBeGreaterThanOrEqual(1);
      expect(collected.get('lakebase.token.refresh.duration')?.unit).toBe('ms');
      expect(spans.getFinishedSpans().some((s) => s.name === 'lakebase.token.refresh')).toBe(true);
      // an idle connection killed under the pool: an error of the pool, by code
      await lb.sql(
        `select pg_terminate_backend(pid) from pg_stat_activity where usename = $1 and state = 'idle'`,
        [lb.servicePrincipal.clientId],
      );
      await vi.waitFor(async () => {
        const errors = (await collect()).get('lakebase.pool.errors')?.points ?? [];
        expect(
          errors.find((p) => p.attributes['error.code'] === '57P01')?.value,
        ).toBeGreaterThanOrEqual(1);
      });
    } finally {
      await lakebase.close();
    }
  });

  it("names: 'both' records the semantic conventions' beside the official ones", async () => {
    const lakebase = createLakebase({ env: lb.env, logger, telemetry: { names: 'both' } });
    try {
      await lakebase.query('select 1');
      const collected = await collect();
      expect(collected.has('lakebase.query.duration')).toBe(true);
      expect(collected.get('db.client.operation.duration')?.unit).toBe('s');
      expect(collected.has('db.client.connection.count')).toBe(true);
    } finally {
      await lakebase.close();
    }
  });

  it('never logs a token', () => {
    expect(logger.lines.join('\n')).not.toMatch(/lbk_/);
  });
});
