/**
 * `read` and `readAsUser(req)` on the Lakebase's read-only endpoint (a real streaming standby):
 * reads there, as the SP and as each user (RLS), each read after a write seeing it; while the
 * replica is stuck, Kysely gets a connection on the primary instead.
 */
import { fileURLToPath } from 'node:url';
import { type LocalLakebase, startLocalLakebase } from '@lakebase-kit/local';
import { exportEnvUntilStop } from '@lakebase-kit/local/testing';
import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { DB } from '../examples/db.js';
import { type LakebaseKysely, lakebaseKysely, migrate } from '../src/index.js';
import { ALICE, BOB, captureLogger } from './world.js';

let lb: LocalLakebase;
let db: LakebaseKysely<DB>;

beforeAll(async () => {
  lb = exportEnvUntilStop(await startLocalLakebase({ users: [ALICE, BOB], replicas: 1 }));
  const replica = lb.replicas[0]!;
  db = lakebaseKysely<DB>({
    logger: captureLogger([]),
    read: { endpoint: replica.endpoint, host: `${replica.host}:${replica.port}`, maxWaitMs: 0 },
  });
  await migrate(db, {
    migrationFolder: fileURLToPath(new URL('../examples/migrations', import.meta.url)),
  });
}, 120_000);
afterAll(async () => {
  await db?.destroy();
  await lb?.stop();
});

const standby = sql<boolean>`pg_is_in_recovery()`.as('standby');

describe('lakebaseKysely with a read-only endpoint', () => {
  it('read runs on the replica, kysely on the primary', async () => {
    expect(await db.read.selectNoFrom([standby]).executeTakeFirst()).toEqual({ standby: true });
    expect(await db.kysely.selectNoFrom([standby]).executeTakeFirst()).toEqual({ standby: false });
  });

  it('each user reads their own writes there, RLS applied', async () => {
    for (const email of [ALICE, BOB]) {
      const headers = await lb.userHeaders(email);
      const note = await db
        .asUser(headers)
        .insertInto('app.notes')
        .values({ body: `from ${email}` })
        .returningAll()
        .executeTakeFirstOrThrow();
      const seen = await db.readAsUser(headers).selectFrom('app.notes').selectAll().execute();
      expect(seen.map((row) => row.owner)).toEqual(seen.map(() => email));
      expect(seen.map((row) => row.id)).toContain(note.id);
    }
  });

  it('while the replica is stuck, a read after a write runs on the primary', async () => {
    await lb.faults.replicaLag(true);
    try {
      await db.kysely.insertInto('app.notes').values({ body: 'while stuck' }).execute();
      const row = await db.read
        .selectFrom('app.notes')
        .select([standby, sql<number>`count(*)::int`.as('n')])
        .where('body', '=', 'while stuck')
        .executeTakeFirst();
      expect(row).toEqual({ standby: false, n: 1 });
    } finally {
      await lb.faults.replicaLag(false);
    }
  });
});
