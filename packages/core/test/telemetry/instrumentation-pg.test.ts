/**
 * One span and one `db.client.operation.duration` per query, whether the real
 * `@opentelemetry/instrumentation-pg` (what AppKit registers) is active or not, and whether it
 * was registered before or after our pool was created. Token and retry telemetry stay ours.
 */
import { createRequire } from 'node:module';
import { type LocalLakebase, startLocalLakebase } from '@lakebase-kit/local';
import { SpanKind } from '@opentelemetry/api';
import { registerInstrumentations } from '@opentelemetry/instrumentation';
import { PgInstrumentation } from '@opentelemetry/instrumentation-pg';
import type { Histogram, ResourceMetrics } from '@opentelemetry/sdk-metrics';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLakebasePool } from '../../src/index.js';
import { INSTRUMENTATION_SCOPE } from '../../src/telemetry/telemetry.js';
import { installOtelSdk, settle } from '../support/otel.js';
import { captureLogger, localPoolOptions } from '../support/sp-support.js';

/** These tests read the OpenTelemetry semantic conventions' names (the default is the official kit's). */
const SEMCONV = { names: 'semconv' } as const;

const PG_SCOPE = '@opentelemetry/instrumentation-pg';
const PINNED_PG_INSTRUMENTATION = (
  createRequire(import.meta.url)('../../package.json') as {
    devDependencies: Record<string, string>;
  }
).devDependencies[PG_SCOPE];
let lb: LocalLakebase;
const { reader, spans } = installOtelSdk();
const log = captureLogger();

beforeAll(async () => {
  lb = await startLocalLakebase();
});
afterAll(async () => {
  await lb?.stop();
});

/** Query spans and operation-duration records since the last call, per instrumentation scope. */
async function recorded() {
  await settle();
  const querySpans = spans
    .getFinishedSpans()
    .filter((s) => s.kind === SpanKind.CLIENT && !s.name.startsWith('pg.connect'))
    .filter((s) => !s.name.startsWith('pg-pool'));
  spans.reset();
  const bySpanScope: Record<string, number> = {};
  for (const s of querySpans) {
    bySpanScope[s.instrumentationScope.name] = (bySpanScope[s.instrumentationScope.name] ?? 0) + 1;
  }
  const { resourceMetrics } = (await reader.collect()) as { resourceMetrics: ResourceMetrics };
  const durations: Record<string, number> = {};
  for (const scope of resourceMetrics.scopeMetrics) {
    for (const metric of scope.metrics) {
      if (metric.descriptor.name !== 'db.client.operation.duration') continue;
      for (const point of metric.dataPoints) {
        durations[scope.scope.name] =
          (durations[scope.scope.name] ?? 0) + (point.value as Histogram).count;
      }
    }
  }
  return { spans: bySpanScope, durations };
}

/** Cumulative histogram counts → the records made since `before`. */
function since(
  now: Record<string, number>,
  before: Record<string, number>,
): Record<string, number> {
  const out: Record<string, number> = {};
  for (const [scope, count] of Object.entries(now)) {
    const delta = count - (before[scope] ?? 0);
    if (delta > 0) out[scope] = delta;
  }
  return out;
}

/** Three queries: pool.query, and a transaction's statement on a checked-out client. */
async function threeQueries(pool: ReturnType<typeof createLakebasePool>) {
  await pool.query('select $1::int as one', [1]);
  const client = await pool.connect();
  try {
    await client.query('select 2 as two');
    await client.query('select 3 as three');
  } finally {
    client.release();
  }
}

describe('exactly one span and one duration per query', () => {
  it('without instrumentation-pg: ours', async () => {
    const pool = createLakebasePool(
      localPoolOptions(lb, { logger: log.logger, telemetry: SEMCONV }),
    );
    await pool.query('select 1'); // warm: login and token outside the measurement
    const before = (await recorded()).durations;
    await threeQueries(pool);
    const after = await recorded();
    expect(after.spans).toEqual({ [INSTRUMENTATION_SCOPE]: 3 });
    expect(since(after.durations, before)).toEqual({ [INSTRUMENTATION_SCOPE]: 3 });

    // registered after this pool was created (as AppKit would, later): theirs from now on
    const instrumentation = new PgInstrumentation();
    // the instrumentation-pg this package pins (the newest that supports Node 20), not another
    expect(instrumentation.instrumentationVersion).toBe(PINNED_PG_INSTRUMENTATION);
    registerInstrumentations({ instrumentations: [instrumentation] });
    createRequire(import.meta.url)('pg'); // the require hook patches the loaded pg
    const patched = (await recorded()).durations;
    await threeQueries(pool);
    const later = await recorded();
    expect(later.spans).toEqual({ [PG_SCOPE]: 3 });
    expect(since(later.durations, patched)).toEqual({ [PG_SCOPE]: 3 });

    // and a pool created while it is registered
    const fresh = createLakebasePool(
      localPoolOptions(lb, { logger: log.logger, telemetry: SEMCONV }),
    );
    await fresh.query('select 1');
    const warm = (await recorded()).durations;
    await threeQueries(fresh);
    const third = await recorded();
    expect(third.spans).toEqual({ [PG_SCOPE]: 3 });
    expect(since(third.durations, warm)).toEqual({ [PG_SCOPE]: 3 });

    // token telemetry stays ours either way
    const { resourceMetrics } = (await reader.collect()) as { resourceMetrics: ResourceMetrics };
    const ours = resourceMetrics.scopeMetrics.find((s) => s.scope.name === INSTRUMENTATION_SCOPE);
    expect(ours?.metrics.map((m) => m.descriptor.name)).toContain('lakebase.token.cache.misses');

    instrumentation.disable();
    await pool.end();
    await fresh.end();
  });
});
