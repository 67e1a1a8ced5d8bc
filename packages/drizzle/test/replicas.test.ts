/**
 * Drizzle's `withReplicas` on the Lakebase's read-only endpoint (a real streaming standby):
 * selects and relational queries on the replica, writes and transactions on the primary, the
 * same per user (RLS), and each read after a write sees it (read-your-writes).
 */
import { fileURLToPath } from 'node:url';
import { type LocalLakebase, startLocalLakebase } from '@lakebase-kit/local';
import { exportEnvUntilStop } from '@lakebase-kit/local/testing';
import { eq, sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as schema from '../examples/schema.js';
import { type LakebaseDrizzle, lakebaseDrizzle, migrate } from '../src/index.js';
import { ALICE, BOB, captureLogger } from './world.js';

const { notes } = schema;
const migrationsFolder = fileURLToPath(new URL('../examples/drizzle', import.meta.url));

let lb: LocalLakebase;
let db: LakebaseDrizzle<typeof schema>;

beforeAll(async () => {
  lb = exportEnvUntilStop(await startLocalLakebase({ users: [ALICE, BOB], replicas: 1 }));
  const replica = lb.replicas[0]!;
  db = lakebaseDrizzle({
    schema,
    logger: captureLogger([]),
    read: { endpoint: replica.endpoint, host: `${replica.host}:${replica.port}` },
  });
  await migrate(db, { migrationsFolder });
}, 120_000);
afterAll(async () => {
  await db?.$close();
  await lb?.stop();
});

const standby = sql<boolean>`pg_is_in_recovery()`;

describe('lakebaseDrizzle with a read-only endpoint', () => {
  it('selects on the replica, writes and transactions on the primary', async () => {
    const [where] = await db.select({ standby }).from(sql`(select 1) as one`);
    expect(where?.standby).toBe(true); // select: the replica
    expect(await db.$count(notes)).toBeGreaterThanOrEqual(0);
    const [written] = await db
      .execute<{ standby: boolean }>(sql`select pg_is_in_recovery() as standby`)
      .then((r) => r.rows);
    expect(written?.standby).toBe(false); // execute: the primary
    const inTx = await db.transaction(async (tx) =>
      tx.select({ standby }).from(sql`(select 1) as one`),
    );
    expect(inTx).toEqual([{ standby: false }]);
  });

  it('each user reads their own writes on the replica, RLS applied', async () => {
    for (const [email, n] of [
      [ALICE, 1],
      [BOB, 2],
      [ALICE, 3],
    ] as const) {
      const user = db.asUser(await lb.userHeaders(email));
      const [note] = await user
        .insert(notes)
        .values({ body: `note ${n}` })
        .returning();
      const mine = await user.select().from(notes).where(eq(notes.id, note!.id));
      expect(mine.map((row) => [row.owner, row.body])).toEqual([[email, `note ${n}`]]);
      const all = await user.query.notes.findMany({ columns: { owner: true } });
      expect(new Set(all.map((row) => row.owner))).toEqual(new Set([email]));
    }
    const [where] = await db
      .asUser(await lb.userHeaders(ALICE))
      .select({ standby, who: sql<string>`current_user` })
      .from(sql`(select 1) as one`);
    expect(where).toEqual({ standby: true, who: ALICE });
    expect(db.$lakebase.stats().read?.writes).toBeGreaterThanOrEqual(3);
  });
});
