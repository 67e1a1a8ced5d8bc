import type { LocalLakebase } from '@lakebase-kit/local';
import { SpanKind, trace } from '@opentelemetry/api';
import {
  BasicTracerProvider,
  InMemorySpanExporter,
  type ReadableSpan,
  SimpleSpanProcessor,
} from '@opentelemetry/sdk-trace-base';
import { type LogEvent, sql } from 'kysely';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { type LakebaseKysely, lakebaseKysely } from '../src/index.js';
import { ALICE, BOB, startWorld, stopWorld } from './world.js';

interface TelemetryDB {
  'spans.items': { id: number; label: string };
}

const exporter = new InMemorySpanExporter();
const provider = new BasicTracerProvider({ spanProcessors: [new SimpleSpanProcessor(exporter)] });
trace.setGlobalTracerProvider(provider);

let lb: LocalLakebase;
let lk: LakebaseKysely<TelemetryDB>;
/** Every query Kysely executes (its `log` hook sees each one, begin/commit and failures included). */
const executed: string[] = [];

beforeAll(async () => {
  lb = await startWorld();
  lk = lakebaseKysely<TelemetryDB>({
    // the spans below are read by the semantic conventions' attributes
    telemetry: { names: 'semconv' },
    log: (event: LogEvent) => {
      executed.push(event.query.sql);
    },
  });
  await sql`create schema spans`.execute(lk.kysely);
  await sql`create table spans.items (id int primary key, label text not null)`.execute(lk.kysely);
  await sql`grant usage on schema spans to public`.execute(lk.kysely);
  await sql`grant select, insert on spans.items to public`.execute(lk.kysely);
  // Warm up the SP and both user pools (connections, tokens) before counting.
  await lk
    .asUser(await lb.userHeaders(ALICE))
    .selectFrom('spans.items')
    .select('id')
    .execute();
  await lk
    .asUser(await lb.userHeaders(BOB))
    .selectFrom('spans.items')
    .select('id')
    .execute();
});

afterAll(async () => {
  await lk?.destroy();
  await stopWorld(lb);
  await provider.shutdown();
});

/** One event-loop turn: query recordings are batched right after each I/O turn. */
const settle = () => new Promise((resolve) => setImmediate(resolve));

beforeEach(async () => {
  await settle(); // queries of the previous test end up there, not here
  exporter.reset();
  executed.length = 0;
});

const querySpans = async (): Promise<ReadableSpan[]> => {
  await settle();
  return exporter
    .getFinishedSpans()
    .filter((s) => s.kind === SpanKind.CLIENT && s.attributes['db.system.name'] === 'postgresql');
};

describe('telemetry', () => {
  it('every Kysely query produces exactly one query span, although Kysely uses pool.connect()', async () => {
    const alice = lk.asUser(await lb.userHeaders(ALICE));
    const bob = lk.asUser(await lb.userHeaders(BOB));

    await lk.kysely.insertInto('spans.items').values({ id: 1, label: 'sp' }).execute();
    await lk.kysely.selectFrom('spans.items').selectAll().where('id', '=', 1).execute();
    await alice.selectFrom('spans.items').selectAll().execute();
    await bob.selectFrom('spans.items').select('label').execute();
    await Promise.all(
      [1, 2, 3, 4].map((n) => alice.selectFrom('spans.items').select(sql`${n}`.as('n')).execute()),
    );
    await alice.transaction().execute(async (trx) => {
      await trx.insertInto('spans.items').values({ id: 2, label: 'tx' }).execute();
      await trx.selectFrom('spans.items').select('id').execute();
    });
    await expect(
      bob.transaction().execute(async (trx) => {
        await trx.insertInto('spans.items').values({ id: 1, label: 'duplicate' }).execute();
      }),
    ).rejects.toThrow();

    // 2 SP + 1 alice + 1 bob + 4 parallel + (begin, insert, select, commit) + (begin, insert, rollback)
    expect(executed).toHaveLength(15);
    const spans = await querySpans();
    expect(spans).toHaveLength(executed.length);

    const operations = spans.map((s) => s.attributes['db.operation.name']);
    expect(operations.filter((o) => o === 'BEGIN')).toHaveLength(2);
    expect(operations.filter((o) => o === 'COMMIT')).toHaveLength(1);
    expect(operations.filter((o) => o === 'ROLLBACK')).toHaveLength(1);
    expect(operations.filter((o) => o === 'INSERT')).toHaveLength(3);
    const failed = spans.filter((s) => s.attributes['db.response.status_code'] === '23505');
    expect(failed).toHaveLength(1);
  });

  it('a streamed query produces exactly one span, not one per chunk', async () => {
    let rows = 0;
    for await (const _ of lk.kysely
      .selectFrom(sql<{ i: number }>`generate_series(1, 2500)`.as('i'))
      .selectAll()
      .stream(100)) {
      rows++;
    }
    expect(rows).toBe(2500);
    expect(executed).toHaveLength(1);
    // 25 cursor reads on one connection: core spans the cursor (a pg submittable) once, from
    // submit to ReadyForQuery.
    expect(await querySpans()).toHaveLength(1);
    expect((await querySpans())[0]?.attributes['db.operation.name']).toBe('SELECT');
  });
});
