import { fileURLToPath } from 'node:url';
import { AuthenticationError, ConfigurationError, createLakebase } from '@lakebase-kit/core';
import type { LocalLakebase } from '@lakebase-kit/local';
import { eq, sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as schema from '../examples/schema.js';
import { type LakebaseDrizzle, lakebaseDrizzle, migrate } from '../src/index.js';
import { ALICE, BOB, captureLogger, startWorld, stopWorld, TOKEN_PATTERN } from './world.js';

const { notes } = schema;
const migrationsFolder = fileURLToPath(new URL('../examples/drizzle', import.meta.url));

let lb: LocalLakebase;
let db: LakebaseDrizzle<typeof schema>;
const logs: string[] = [];

beforeAll(async () => {
  lb = await startWorld();
  db = lakebaseDrizzle({ schema, logger: captureLogger(logs) });
  await migrate(db, { migrationsFolder });
});

afterAll(async () => {
  await db?.$close();
  await stopWorld(lb);
});

const asUser = async (email: string) => db.asUser(await lb.userHeaders(email));

describe('lakebaseDrizzle', () => {
  it('runs as the service principal, with typed inserts and selects', async () => {
    const [row] = await db
      .execute<{ user: string }>(sql`select current_user as "user"`)
      .then((r) => r.rows);
    expect(row?.user).toBe(lb.env.PGUSER);

    const [note] = await db.insert(notes).values({ body: 'from the SP' }).returning();
    expect(note).toMatchObject({ body: 'from the SP', owner: lb.env.PGUSER });
    expect(note?.createdAt).toBeInstanceOf(Date);
    expect(typeof note?.id).toBe('number');
  });

  it('runs as each user, with RLS isolating their rows; the SP sees all', async () => {
    const alice = await asUser(ALICE);
    const bob = await asUser(BOB);
    await alice.insert(notes).values([{ body: 'alice 1' }, { body: 'alice 2' }]);
    const [bobNote] = await bob.insert(notes).values({ body: 'bob 1' }).returning();
    expect(bobNote?.owner).toBe(BOB);

    const aliceRows = await alice.select().from(notes);
    expect(aliceRows.map((n) => n.body).sort()).toEqual(['alice 1', 'alice 2']);
    expect(new Set(aliceRows.map((n) => n.owner))).toEqual(new Set([ALICE]));

    // The relational query API is typed from the schema too.
    const bobRows = await bob.query.notes.findMany({ columns: { body: true, owner: true } });
    expect(bobRows).toEqual([{ body: 'bob 1', owner: BOB }]);

    // Bob cannot reach alice's rows by id either.
    const aliceIds = aliceRows.map((n) => n.id);
    const stolen = await bob.select().from(notes).where(eq(notes.id, aliceIds[0]!));
    expect(stolen).toEqual([]);

    const all = await db.select({ owner: notes.owner }).from(notes);
    const owners = new Set(all.map((n) => n.owner));
    expect(owners).toEqual(new Set([lb.env.PGUSER, ALICE, BOB]));
  });

  it('a user cannot write a row owned by someone else (RLS WITH CHECK)', async () => {
    const alice = await asUser(ALICE);
    await expect(alice.insert(notes).values({ body: 'forged', owner: BOB })).rejects.toThrow();
    const forged = await db.select().from(notes).where(eq(notes.body, 'forged'));
    expect(forged).toEqual([]);
  });

  it('a transaction that throws leaves no row', async () => {
    const alice = await asUser(ALICE);
    await expect(
      alice.transaction(async (tx) => {
        await tx.insert(notes).values({ body: 'rolled back' });
        const inside = await tx.select().from(notes).where(eq(notes.body, 'rolled back'));
        expect(inside).toHaveLength(1);
        throw new Error('boom');
      }),
    ).rejects.toThrow('boom');
    const rows = await db.select().from(notes).where(eq(notes.body, 'rolled back'));
    expect(rows).toEqual([]);
  });

  it('a committed transaction runs as the user and is visible to its owner only', async () => {
    const alice = await asUser(ALICE);
    const who = await alice.transaction(async (tx) => {
      await tx.insert(notes).values({ body: 'committed' });
      const r = await tx.execute<{ user: string }>(sql`select current_user as "user"`);
      return r.rows[0]?.user;
    });
    expect(who).toBe(ALICE);

    const seenByAlice = await alice.select().from(notes).where(eq(notes.body, 'committed'));
    expect(seenByAlice).toHaveLength(1);
    const bob = await asUser(BOB);
    expect(await bob.select().from(notes).where(eq(notes.body, 'committed'))).toEqual([]);
    const seenBySp = await db.select().from(notes).where(eq(notes.body, 'committed'));
    expect(seenBySp.map((n) => n.owner)).toEqual([ALICE]);
  });

  it('caches one database per user scope, bound to that scope’s pool', async () => {
    const headers = await lb.userHeaders(ALICE);
    // core caches a scope only once its token is verified (the first query does that)
    await db.asUser(headers).select().from(notes);
    const first = db.asUser(headers);
    expect(db.asUser({ ...headers })).toBe(first);
    expect(first.$scope.identity).toBe(ALICE);
    expect(first.$client).toBe(first.$scope.pool);
    expect(first.$client).not.toBe(db.$client);
    expect(db.$client).toBe(db.$lakebase.pool);

    const bob = await asUser(BOB);
    expect(bob).not.toBe(first);
    expect(bob.$scope.identity).toBe(BOB);
  });

  it('refuses a request without a user token', () => {
    expect(() => db.asUser({})).toThrow(AuthenticationError);
  });

  it('refuses another user’s token, and the error never contains it', async () => {
    const bobHeaders = await lb.userHeaders(BOB);
    const forged = { ...bobHeaders, 'x-forwarded-email': ALICE };
    const error = await Promise.resolve()
      .then(() => db.asUser(forged).select().from(notes))
      .then(
        (rows) => ({ rows }),
        (e: unknown) => e,
      );
    expect(error).toBeInstanceOf(Error);
    const cause = (error as Error).cause;
    expect(error instanceof AuthenticationError || cause instanceof AuthenticationError).toBe(true);
    const seen = `${String(error)} ${String((error as Error).cause)} ${JSON.stringify(error)}`;
    expect(seen).not.toContain(bobHeaders['x-forwarded-access-token']);
    expect(seen).not.toMatch(TOKEN_PATTERN);
  });

  it("in userPools.mode 'set-role' the user's database runs as the user on the SP's pool", async () => {
    await lb.grantSetRole(ALICE);
    const shared = lakebaseDrizzle({ schema, userPools: { mode: 'set-role' } });
    try {
      const logins = lb.stats().connections[ALICE]?.total ?? 0;
      const alice = shared.asUser(await lb.userHeaders(ALICE));
      const [me] = (await alice.execute<{ who: string }>(sql`select current_user as who`)).rows;
      expect(me?.who).toBe(ALICE);
      const rows = await alice.select().from(notes);
      expect(rows.length).toBeGreaterThan(0);
      expect(rows.every((row) => row.owner === ALICE)).toBe(true);
      await alice.transaction(async (tx) => {
        await tx.insert(notes).values({ body: 'alice via set-role' });
      });
      const [inserted] = await db.select().from(notes).where(eq(notes.body, 'alice via set-role'));
      expect(inserted?.owner).toBe(ALICE);
      expect(lb.stats().connections[ALICE]?.total ?? 0).toBe(logins); // no login as alice
    } finally {
      await shared.$close();
    }
  });

  it('never logs a token', () => {
    for (const line of logs) expect(line).not.toMatch(TOKEN_PATTERN);
  });
});

describe('sharing a Lakebase', () => {
  it('binds to a shared Lakebase and never closes it', async () => {
    const lakebase = createLakebase();
    try {
      const shared = lakebaseDrizzle({ schema, lakebase });
      expect(shared.$lakebase).toBe(lakebase);
      expect(shared.$client).toBe(lakebase.pool);
      const mine = await shared
        .asUser(await lb.userHeaders(BOB))
        .select()
        .from(notes);
      expect(mine.every((n) => n.owner === BOB)).toBe(true);
      await shared.$close();
      expect(lakebase.closed).toBe(false);
      const r = await lakebase.query('select 1 as one');
      expect(r.rows).toEqual([{ one: 1 }]);
    } finally {
      await lakebase.close();
    }
  });

  it('closes a Lakebase it created', async () => {
    const owned = lakebaseDrizzle({ schema });
    await owned.select().from(notes).limit(1);
    await owned.$close();
    await owned.$close();
    expect(owned.$lakebase.closed).toBe(true);
  });

  it('a user’s database outlives the eviction of their pool, and goes when core forgets the scope', async () => {
    const small = lakebaseDrizzle({ schema, userPools: { maxPools: 1, idleTimeoutMillis: 300 } });
    try {
      const whoAmI = async (d: ReturnType<typeof small.asUser>) =>
        (await d.execute<{ user: string }>(sql`select current_user as "user"`)).rows[0]?.user;
      const aliceHeaders = await lb.userHeaders(ALICE);
      const first = small.asUser(aliceHeaders);
      expect(await whoAmI(first)).toBe(ALICE);
      expect(await whoAmI(small.asUser(await lb.userHeaders(BOB)))).toBe(BOB);
      expect(small.$lakebase.stats().users.evictions).toBeGreaterThanOrEqual(1);
      // alice's pool was evicted; her database still runs as her (on a new pool)
      expect(small.asUser(aliceHeaders)).toBe(first);
      expect(await whoAmI(first)).toBe(ALICE);

      // once core forgets the unused scope, the next request gets a new database
      await new Promise<void>((resolve) => first.$scope.onClose(resolve));
      const again = small.asUser(aliceHeaders);
      expect(again.$scope).not.toBe(first.$scope);
      expect(again).not.toBe(first);
      expect(await whoAmI(again)).toBe(ALICE);
    } finally {
      await small.$close();
    }
  });

  it('rejects connection options next to a shared Lakebase', async () => {
    const lakebase = createLakebase();
    try {
      expect(() => lakebaseDrizzle({ lakebase, endpoint: lb.env.LAKEBASE_ENDPOINT })).toThrow(
        ConfigurationError,
      );
    } finally {
      await lakebase.close();
    }
  });
});
