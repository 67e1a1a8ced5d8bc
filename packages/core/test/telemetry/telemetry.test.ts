/**
 * OpenTelemetry: metric and span names/attributes, read with the OTel SDK's in-memory readers.
 */
import { type LocalLakebase, startLocalLakebase } from '@lakebase-kit/local';
import { SpanKind, SpanStatusCode } from '@opentelemetry/api';
import type { DataPoint, Histogram, ResourceMetrics } from '@opentelemetry/sdk-metrics';
import pg from 'pg';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { createLakebasePool } from '../../src/index.js';
import { createLakebase } from '../../src/lakebase.js';
import { INSTRUMENTATION_SCOPE } from '../../src/telemetry/telemetry.js';
import { installOtelSdk, settle } from '../support/otel.js';
import { captureLogger, localPoolOptions } from '../support/sp-support.js';

/** These tests read the OpenTelemetry semantic conventions' names (the default is the official kit's). */
const SEMCONV = { names: 'semconv' } as const;

let lb: LocalLakebase;
const { reader, spans } = installOtelSdk();
const log = captureLogger();

beforeAll(async () => {
  lb = await startLocalLakebase();
});
afterAll(async () => {
  await lb?.stop();
});
/** One event-loop turn: query recordings are batched right after each I/O turn. */

beforeEach(async () => {
  await settle(); // queries of the previous test end up there, not here
  spans.reset();
});

/** Spans finished so far (after the batch of this I/O turn was recorded). */
async function finishedSpans() {
  await settle();
  return spans.getFinishedSpans();
}

type Point = DataPoint<number | Histogram>;

async function collect(): Promise<Map<string, Point[]>> {
  await settle();
  const { resourceMetrics } = (await reader.collect()) as { resourceMetrics: ResourceMetrics };
  const out = new Map<string, Point[]>();
  for (const scope of resourceMetrics.scopeMetrics) {
    if (scope.scope.name !== INSTRUMENTATION_SCOPE) continue;
    for (const metric of scope.metrics) {
      out.set(metric.descriptor.name, [
        ...(out.get(metric.descriptor.name) ?? []),
        ...(metric.dataPoints as Point[]),
      ]);
    }
  }
  return out;
}

const value = (p: Point | undefined) =>
  typeof p?.value === 'number' ? p.value : (p?.value as Histogram | undefined)?.count;
const find = (points: Point[] | undefined, attrs: Record<string, unknown>) =>
  points?.find((p) => Object.entries(attrs).every(([k, v]) => p.attributes[k] === v));

describe('query spans', () => {
  it('pool.query: a CLIENT span per semconv; db.query.text only when parameterized', async () => {
    const pool = createLakebasePool(
      localPoolOptions(lb, { logger: log.logger, telemetry: SEMCONV }),
    );
    await pool.query('select 1 as plain');
    await pool.query('select $1::int as param', [42]);
    const failed = await pool.query('select * from no_such_table').catch((e) => e);
    expect(failed.code).toBe('42P01');
    await pool.end();

    const finished = (await finishedSpans()).filter(
      (s) => s.instrumentationScope.name === INSTRUMENTATION_SCOPE && s.kind === SpanKind.CLIENT,
    );
    expect(finished).toHaveLength(3);
    const [plain, param, error] = finished;
    expect(plain!.name).toBe('SELECT databricks_postgres');
    expect(plain!.attributes).toEqual({
      'db.system.name': 'postgresql',
      'db.namespace': 'databricks_postgres',
      'db.operation.name': 'SELECT',
      'server.address': lb.env.PGHOST,
      'server.port': Number(lb.env.PGPORT),
    });
    expect(param!.attributes['db.query.text']).toBe('select $1::int as param');
    expect(error!.status.code).toBe(SpanStatusCode.ERROR);
    expect(error!.attributes).toMatchObject({
      'db.response.status_code': '42P01',
      'error.type': '42P01',
    });
    expect(error!.attributes['db.query.text']).toBeUndefined();
    const fetches = (await finishedSpans()).filter((s) => s.name === 'lakebase.credential.fetch');
    expect(fetches).toHaveLength(1);
    expect(fetches[0]!.attributes).toEqual({ 'db.client.connection.pool.name': 'lakebase:sp' });
  });

  it('a Kysely-style pool.connect() query is traced exactly once', async () => {
    const pool = createLakebasePool(
      localPoolOptions(lb, { logger: log.logger, telemetry: SEMCONV }),
    );
    const client = await pool.connect();
    await client.query('begin');
    await client.query({ text: 'select $1::text as once', values: ['x'] });
    await client.query('commit');
    client.release();
    await pool.end();
    const texts = (await finishedSpans()).filter(
      (s) => s.attributes['db.query.text'] === 'select $1::text as once',
    );
    expect(texts).toHaveLength(1);
    const names = (await finishedSpans())
      .filter((s) => s.kind === SpanKind.CLIENT)
      .map((s) => s.name);
    expect(names).toEqual([
      'BEGIN databricks_postgres',
      'SELECT databricks_postgres',
      'COMMIT databricks_postgres',
    ]);
  });

  it('callback-style queries are traced too', async () => {
    const pool = createLakebasePool(
      localPoolOptions(lb, { logger: log.logger, telemetry: SEMCONV }),
    );
    const rows = await new Promise((resolve, reject) =>
      pool.query('select 2 as cb', (err: Error | undefined, res: pg.QueryResult) =>
        err ? reject(err) : resolve(res.rows),
      ),
    );
    expect(rows).toEqual([{ cb: 2 }]);
    await pool.end();
    expect((await finishedSpans()).filter((s) => s.kind === SpanKind.CLIENT)).toHaveLength(1);
  });

  it('no query spans when instrumentation-pg already patched pg (nothing counted twice), unless forced', async () => {
    class Patched extends pg.Client {}
    const original = Patched.prototype.query;
    Object.defineProperty(Patched.prototype, 'query', {
      value: Object.assign(
        function query(this: unknown, ...a: unknown[]) {
          return (original as (...x: unknown[]) => unknown).apply(this, a);
        },
        { __wrapped: true, __original: original },
      ),
      configurable: true,
      writable: true,
    });
    const auto = createLakebasePool(
      localPoolOptions(lb, { Client: Patched, logger: log.logger, telemetry: SEMCONV }),
    );
    await auto.query('select 1');
    await auto.end();
    expect((await finishedSpans()).filter((s) => s.kind === SpanKind.CLIENT)).toHaveLength(0);

    const forced = createLakebasePool(
      localPoolOptions(lb, {
        Client: Patched,
        telemetry: { queries: true, names: 'semconv' },
        logger: log.logger,
      }),
    );
    await forced.query('select 1');
    await forced.end();
    expect((await finishedSpans()).filter((s) => s.kind === SpanKind.CLIENT)).toHaveLength(1);

    const off = createLakebasePool(localPoolOptions(lb, { telemetry: false, logger: log.logger }));
    await off.query('select 1');
    await off.end();
    expect((await finishedSpans()).filter((s) => s.kind === SpanKind.CLIENT)).toHaveLength(1);
  });
});

describe('metrics', () => {
  it('pool metrics per semconv, credential and cache metrics, all low-cardinality; removed on end', async () => {
    const pool = createLakebasePool(
      localPoolOptions(lb, {
        max: 3,
        connectionTimeoutMillis: 300,
        maxUses: 100,
        logger: log.logger,
        telemetry: SEMCONV,
      }),
    );
    const sp = { 'db.client.connection.pool.name': 'lakebase:sp' };
    const base = await collect(); // counters are cumulative across this file's tests
    const delta = (m: Map<string, Point[]>, name: string, attrs: Record<string, unknown>) =>
      (value(find(m.get(name), attrs)) ?? 0) - (value(find(base.get(name), attrs)) ?? 0);
    const a = await pool.connect();
    const b = await pool.connect();
    b.release();
    await pool.query('select $1::text as who', ['alice@example.com']);

    let m = await collect();
    expect(
      value(
        find(m.get('db.client.connection.count'), { ...sp, 'db.client.connection.state': 'used' }),
      ),
    ).toBe(1);
    expect(
      value(
        find(m.get('db.client.connection.count'), { ...sp, 'db.client.connection.state': 'idle' }),
      ),
    ).toBe(1);
    expect(value(find(m.get('db.client.connection.max'), sp))).toBe(3);
    expect(value(find(m.get('db.client.connection.pending_requests'), sp))).toBe(0);
    expect(delta(m, 'db.client.connection.create_time', sp)).toBe(2);
    expect(delta(m, 'db.client.connection.wait_time', sp)).toBe(3);
    expect(
      delta(m, 'db.client.operation.duration', {
        ...sp,
        'db.operation.name': 'SELECT',
        'error.type': undefined,
      }),
    ).toBe(1);
    expect(
      delta(m, 'lakebase.credential.fetch.duration', {
        ...sp,
        'lakebase.credential.outcome': 'success',
      }),
    ).toBe(1);
    expect(delta(m, 'lakebase.token.cache.misses', sp)).toBe(1);
    expect(delta(m, 'lakebase.token.cache.hits', sp)).toBe(1);
    for (const name of [
      'db.client.connection.create_time',
      'db.client.operation.duration',
      'lakebase.credential.fetch.duration',
    ]) {
      const [p] = m.get(name)!;
      expect((p!.value as Histogram).sum).toBeLessThan(10); // seconds, not milliseconds
    }

    // timeouts: the pool is full (max 3) and nobody releases
    const c = await pool.connect();
    const d = await pool.connect();
    const timedOut = await pool.connect().catch((e) => e);
    expect(timedOut.message).toMatch(/timeout/);
    m = await collect();
    expect(delta(m, 'db.client.connection.timeouts', sp)).toBe(1);

    // auth failure → one retry with a fresh token
    a.release();
    c.release();
    d.release();
    lb.faults.revoke(lb.servicePrincipal.clientId);
    const held = await Promise.all([pool.connect(), pool.connect(), pool.connect()]); // idle reused
    for (const h of held) h.release(true); // drop them: the next connect must log in again
    await pool.query('select 1');
    m = await collect();
    expect(delta(m, 'lakebase.auth.failures', sp)).toBe(1);
    expect(
      delta(m, 'lakebase.connection.retries', {
        ...sp,
        'lakebase.retry.reason': 'auth',
        'error.type': '28P01',
      }),
    ).toBe(1);

    // no SQL text, no emails, no tokens in any metric attribute
    for (const [, points] of m) {
      for (const p of points) {
        const text = JSON.stringify(p.attributes);
        expect(text).not.toMatch(/select |alice|@|lbk_/);
      }
    }

    // An ended pool is no longer observed: its gauges stop (no stale last value).
    await pool.end();
    m = await collect();
    for (const state of ['idle', 'used']) {
      expect(
        value(
          find(m.get('db.client.connection.count'), { ...sp, 'db.client.connection.state': state }),
        ) ?? 0,
      ).toBe(0);
    }
    expect(value(find(m.get('db.client.connection.max'), sp)) ?? 0).toBe(0);
    const next = createLakebasePool(
      localPoolOptions(lb, { max: 5, logger: log.logger, telemetry: SEMCONV }),
    );
    m = await collect();
    expect(value(find(m.get('db.client.connection.max'), sp))).toBe(5);
    await next.end();
  });

  it('failed credential fetches are counted with their error type', async () => {
    lb.faults.credentials({ status: 403, times: 1 });
    const pool = createLakebasePool(
      localPoolOptions(lb, { logger: log.logger, telemetry: SEMCONV }),
    );
    const error = await pool.query('select 1').catch((e) => e);
    expect(error.apiStatus).toBe(403);
    await pool.end();
    const m = await collect();
    expect(
      value(
        find(m.get('lakebase.credential.fetch.duration'), {
          'lakebase.credential.outcome': 'failure',
          'error.type': 'PERMISSION_DENIED',
        }),
      ),
    ).toBe(1);
  });

  it('user pools are told apart by pool name, and no identity appears in any attribute', async () => {
    const lakebase = createLakebase({ env: lb.env, logger: log.logger, telemetry: SEMCONV });
    try {
      for (const email of ['alice@example.com', 'bob@example.com']) {
        await lakebase.asUser(await lb.userHeaders(email)).query('select $1::text as who', [email]);
      }
      const m = await collect();
      const names = new Set(
        (m.get('db.client.operation.duration') ?? [])
          .map((p) => p.attributes['db.client.connection.pool.name'])
          .filter((name) => typeof name === 'string' && name.startsWith('lakebase:user')),
      );
      expect(names).toEqual(new Set(['lakebase:user:1', 'lakebase:user:2']));
      for (const [, points] of m) {
        for (const p of points)
          expect(JSON.stringify(p.attributes)).not.toMatch(/@|example\.com|lbk_/);
      }
      const userSpans = (await finishedSpans()).filter(
        (s) =>
          s.kind === SpanKind.CLIENT && s.attributes['db.query.text'] === 'select $1::text as who',
      );
      expect(userSpans).toHaveLength(2);
      for (const span of userSpans) {
        expect(JSON.stringify(span.attributes)).not.toMatch(/example\.com/);
      }
    } finally {
      await lakebase.close();
    }
  });
});
