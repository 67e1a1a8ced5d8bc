import type { LocalLakebase } from '@lakebase-kit/local';
import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type LakebaseKysely, lakebaseKysely } from '../src/index.js';
import { ALICE, startWorld, stopWorld } from './world.js';

interface StreamDB {
  'probe.rows': { id: number; pad: string };
}

const ROWS = 10_000;
const CHUNK = 100;

let lb: LocalLakebase;
let lk: LakebaseKysely<StreamDB>;

beforeAll(async () => {
  lb = await startWorld();
  lk = lakebaseKysely<StreamDB>();
  await sql`create schema probe`.execute(lk.kysely);
  await sql`create sequence probe.fetched`.execute(lk.kysely);
  await sql`create table probe.rows as
    select i as id, repeat('x', 200) as pad from generate_series(1, ${ROWS}) as i`.execute(
    lk.kysely,
  );
  await sql`grant usage on schema probe to public`.execute(lk.kysely);
  await sql`grant select on probe.rows to public`.execute(lk.kysely);
});

afterAll(async () => {
  await lk?.destroy();
  await stopWorld(lb);
});

/** How many rows the server has produced so far (each produced row calls nextval once). */
const produced = async () =>
  Number(
    (
      (await lb.sql('select last_value, is_called from probe.fetched')) as {
        last_value: string;
        is_called: boolean;
      }[]
    ).map((r) => (r.is_called ? r.last_value : 0))[0],
  );

describe('.stream()', () => {
  it('streams 10,000 rows with at most one chunk in flight (bounded memory)', async () => {
    const stream = lk.kysely
      .selectFrom('probe.rows')
      .select(['id', 'pad', sql<string>`nextval('probe.fetched')`.as('n')])
      .stream(CHUNK);

    let seen = 0;
    let idSum = 0;
    let maxAhead = 0;
    for await (const row of stream) {
      seen++;
      idSum += row.id;
      expect(row.pad).toHaveLength(200);
      if (seen % 1000 === 1) {
        // The server has produced only the rows of the chunks read so far, never the whole result.
        const ahead = (await produced()) - seen;
        maxAhead = Math.max(maxAhead, ahead);
        expect(ahead).toBeLessThan(CHUNK);
      }
    }
    expect(seen).toBe(ROWS);
    expect(idSum).toBe((ROWS * (ROWS + 1)) / 2);
    expect(await produced()).toBe(ROWS);
    // at the first row of each thousand, the server had produced exactly the chunk being read
    expect(maxAhead).toBe(CHUNK - 1);
    // The connection went back to the pool.
    expect(lk.lakebase.pool.totalCount).toBe(lk.lakebase.pool.idleCount);
  });

  it('stops the server-side cursor when the consumer breaks early', async () => {
    await sql`select setval('probe.fetched', 1, false)`.execute(lk.kysely);
    let seen = 0;
    for await (const _row of lk.kysely
      .selectFrom('probe.rows')
      .select(['id', sql<string>`nextval('probe.fetched')`.as('n')])
      .stream(CHUNK)) {
      if (++seen === 150) break;
    }
    expect(await produced()).toBe(2 * CHUNK);
    expect(lk.lakebase.pool.totalCount).toBe(lk.lakebase.pool.idleCount);
  });

  it('streams as a user too', async () => {
    const alice = lk.asUser(await lb.userHeaders(ALICE));
    let count = 0;
    for await (const _row of alice.selectFrom('probe.rows').select('id').stream(1000)) count++;
    expect(count).toBe(ROWS);
  });
});
