import {
  AuthenticationError,
  ConfigurationError,
  createLakebase,
  type Lakebase,
  type Logger,
} from '@lakebase-kit/core';
import { type LocalLakebase, startLocalLakebase } from '@lakebase-kit/local';
import type pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  type LakebasePrisma,
  lakebasePrisma,
  lakebasePrismaAdapter,
  prismaPgForPool,
} from '../src/index.js';
import { PrismaClient } from './generated/client.js';

const ALICE = 'alice@example.com';
const BOB = 'bob@example.com';
const SCHEMA = 'prisma_test';

let lb: LocalLakebase;
let lakebase: Lakebase;
let db: LakebasePrisma<PrismaClient>;
let aliceHeaders: Record<string, string>;
let bobHeaders: Record<string, string>;
const logLines: string[] = [];

const capture: Logger = {
  debug: (m, ...a) => logLines.push([m, ...a.map(String)].join(' ')),
  info: (m, ...a) => logLines.push([m, ...a.map(String)].join(' ')),
  warn: (m, ...a) => logLines.push([m, ...a.map(String)].join(' ')),
  error: (m, ...a) => logLines.push([m, ...a.map(String)].join(' ')),
};

async function currentUser(client: PrismaClient): Promise<string> {
  const rows = await client.$queryRaw<{ u: string }[]>`select current_user as u`;
  return rows[0]!.u;
}

beforeAll(async () => {
  lb = await startLocalLakebase({ users: [ALICE, BOB] });
  lakebase = createLakebase({ env: lb.env, logger: capture });
  // The SP owns the table (so it sees every row); users see their own rows only.
  await lakebase.query(`create schema ${SCHEMA}`);
  await lakebase.query(`create table ${SCHEMA}.notes (
    id integer generated always as identity primary key,
    body text not null,
    owner text not null default current_user)`);
  await lakebase.query(`alter table ${SCHEMA}.notes enable row level security`);
  await lakebase.query(
    `create policy own_notes on ${SCHEMA}.notes using (owner = current_user) with check (owner = current_user)`,
  );
  for (const user of [ALICE, BOB]) {
    await lakebase.query(`grant usage on schema ${SCHEMA} to "${user}"`);
    await lakebase.query(`grant select, insert, update, delete on ${SCHEMA}.notes to "${user}"`);
  }
  aliceHeaders = await lb.userHeaders(ALICE);
  bobHeaders = await lb.userHeaders(BOB);
  db = lakebasePrisma({ PrismaClient, lakebase, adapterOptions: { schema: SCHEMA } });
});

afterAll(async () => {
  await db?.$disconnect();
  await lakebase?.close();
  await lb?.stop();
});

describe('lakebasePrisma', () => {
  it('queries as the service principal with db.prisma', async () => {
    expect(await currentUser(db.prisma)).toBe(lb.env.PGUSER);
    const note = await db.prisma.note.create({ data: { body: 'from the SP' } });
    expect(note.owner).toBe(lb.env.PGUSER);
  });

  it('queries as each user with asUser(req), and RLS keeps them apart', async () => {
    const alice = db.asUser({ headers: aliceHeaders });
    const bob = db.asUser({ headers: bobHeaders });
    expect(alice).not.toBe(bob);
    expect(alice).not.toBe(db.prisma);
    expect(await currentUser(alice)).toBe(ALICE);
    expect(await currentUser(bob)).toBe(BOB);

    await alice.note.create({ data: { body: 'alice 1' } });
    await alice.note.create({ data: { body: 'alice 2' } });
    await bob.note.create({ data: { body: 'bob 1' } });

    const aliceNotes = await alice.note.findMany({ orderBy: { id: 'asc' } });
    expect(aliceNotes.map((n) => n.body)).toEqual(['alice 1', 'alice 2']);
    expect(aliceNotes.every((n) => n.owner === ALICE)).toBe(true);
    const bobNotes = await bob.note.findMany();
    expect(bobNotes.map((n) => n.body)).toEqual(['bob 1']);
    // Bob cannot touch Alice's rows: the update matches nothing under his policy.
    const updated = await bob.note.updateMany({ where: { owner: ALICE }, data: { body: 'x' } });
    expect(updated.count).toBe(0);

    const all = await db.prisma.note.findMany();
    expect(new Set(all.map((n) => n.owner))).toEqual(new Set([lb.env.PGUSER, ALICE, BOB]));
  });

  it('returns the same client for the same scope, a Fetch Request or a headers object', async () => {
    const first = db.asUser({ headers: aliceHeaders });
    expect(db.asUser({ headers: aliceHeaders })).toBe(first);
    expect(db.asUser(new Request('http://app.local/', { headers: aliceHeaders }))).toBe(first);
    expect(db.asUser(aliceHeaders)).toBe(first);
    expect(db.asUser(lakebase.asUser(aliceHeaders))).toBe(first);
  });

  it('withUser(req), the deprecated older name, is asUser(req)', async () => {
    expect(db.withUser).toBe(db.asUser);
    const alice = db.withUser({ headers: aliceHeaders });
    expect(alice === db.asUser(aliceHeaders)).toBe(true);
    expect(await currentUser(alice)).toBe(ALICE);
  });

  it('runs interactive and batch $transaction as the user, and rolls back on error', async () => {
    const alice = db.asUser({ headers: aliceHeaders });
    const before = await alice.note.count();
    let insideUser = '';
    let insideCount = 0;
    await expect(
      alice.$transaction(async (tx) => {
        const rows = await tx.$queryRaw<{ u: string }[]>`select current_user as u`;
        insideUser = rows[0]!.u;
        await tx.note.create({ data: { body: 'rolled back' } });
        insideCount = await tx.note.count();
        throw new Error('abort the transaction');
      }),
    ).rejects.toThrow('abort the transaction');
    expect(insideUser).toBe(ALICE);
    expect(insideCount).toBe(before + 1);
    expect(await alice.note.count()).toBe(before);
    expect(await alice.note.findFirst({ where: { body: 'rolled back' } })).toBeNull();
    expect(
      (await lb.sql(`select count(*)::int as n from ${SCHEMA}.notes where body = 'rolled back'`))[0]
        .n,
    ).toBe(0);

    const [created, who] = await alice.$transaction([
      alice.note.create({ data: { body: 'in a batch' } }),
      alice.$queryRaw<{ u: string }[]>`select current_user as u`,
    ]);
    expect(created.owner).toBe(ALICE);
    expect(who[0]!.u).toBe(ALICE);

    const committed = await db.asUser({ headers: bobHeaders }).$transaction(async (tx) => {
      return tx.note.create({ data: { body: 'bob in a transaction' } });
    });
    expect(committed.owner).toBe(BOB);
  });

  it("in userPools.mode 'set-role' the user's client runs as the user on the SP's pool", async () => {
    await lb.grantSetRole(ALICE);
    const shared = createLakebase({
      env: lb.env,
      logger: capture,
      userPools: { mode: 'set-role' },
    });
    const setRole = lakebasePrisma({
      PrismaClient,
      lakebase: shared,
      adapterOptions: { schema: SCHEMA },
    });
    try {
      const logins = lb.stats().connections[ALICE]?.total ?? 0;
      const alice = setRole.asUser(aliceHeaders);
      expect(await currentUser(alice)).toBe(ALICE);
      const created = await alice.$transaction(async (tx) =>
        tx.note.create({ data: { body: 'alice via set-role' } }),
      );
      expect(created.owner).toBe(ALICE);
      const notes = await alice.note.findMany();
      expect(notes.every((note) => note.owner === ALICE)).toBe(true);
      expect(lb.stats().connections[ALICE]?.total ?? 0).toBe(logins); // no login as alice
    } finally {
      await setRole.$disconnect();
      await shared.close();
    }
  });

  it('refuses a request without a user token (401) and never logs a token', async () => {
    expect(() => db.asUser({ headers: {} })).toThrow(AuthenticationError);
    const secrets = [
      aliceHeaders['x-forwarded-access-token']!,
      bobHeaders['x-forwarded-access-token']!,
    ];
    for (const line of logLines) {
      for (const secret of secrets) expect(line).not.toContain(secret);
    }
  });

  it('leaves the shared pools open on $disconnect', async () => {
    const other = lakebasePrisma({ PrismaClient, lakebase, adapterOptions: { schema: SCHEMA } });
    await other.asUser({ headers: aliceHeaders }).note.count();
    await other.$disconnect();
    expect(lakebase.closed).toBe(false);
    // A disconnected client reconnects on its next query, on the same (still open) pools.
    expect(await currentUser(other.asUser({ headers: aliceHeaders }))).toBe(ALICE);
    expect(await currentUser(other.prisma)).toBe(lb.env.PGUSER);
    await other.$disconnect();
    expect((await lakebase.query('select 1 as one')).rows[0].one).toBe(1);
    expect(await db.asUser({ headers: aliceHeaders }).note.count()).toBeGreaterThan(0);
  });
});

describe('per-user client lifecycle', () => {
  it('disconnects a user client when core forgets its scope', async () => {
    const disconnected: PrismaClient[] = [];
    class TrackedClient extends PrismaClient {
      override async $disconnect(): Promise<void> {
        disconnected.push(this);
        return super.$disconnect();
      }
    }
    // scopes unused for 300 ms are forgotten by core (their onClose fires)
    const small = createLakebase({
      env: lb.env,
      logger: capture,
      userPools: { idleTimeoutMillis: 300 },
    });
    const tracked = lakebasePrisma({
      PrismaClient: TrackedClient,
      lakebase: small,
      adapterOptions: { schema: SCHEMA },
    });
    try {
      const aliceScope = small.asUser(aliceHeaders);
      const alice = tracked.asUser(aliceScope);
      // (identity checks with ===: a PrismaClient is a proxy that pretty-printing recurses into)
      expect(alice === tracked.asUser(aliceScope)).toBe(true);
      expect(await currentUser(alice)).toBe(ALICE);
      expect(disconnected).toHaveLength(0);
      const forgotten = new Promise<void>((resolve) => aliceScope.onClose(resolve));
      await forgotten;
      expect(disconnected.includes(alice)).toBe(true);

      // Alice comes back: a new scope, a new client, running as Alice again.
      const aliceAgain = tracked.asUser(aliceHeaders);
      expect(aliceAgain === alice).toBe(false);
      expect(await currentUser(aliceAgain)).toBe(ALICE);
    } finally {
      await tracked.$disconnect();
      await small.close();
    }
  });

  it('uses the service principal client for the development fallback', async () => {
    const devLakebase = createLakebase({ env: lb.env, logger: capture, developmentFallback: true });
    const dev = lakebasePrisma({ PrismaClient, lakebase: devLakebase });
    try {
      const client = dev.asUser({ headers: {} });
      expect(client).toBe(dev.prisma);
      expect(await currentUser(client)).toBe(lb.env.PGUSER);
      expect(dev.asUser(aliceHeaders)).not.toBe(dev.prisma);
    } finally {
      await dev.$disconnect();
      await devLakebase.close();
    }
  });

  it('closes the Lakebase it created itself (from flat options, as every adapter takes them)', async () => {
    const own = lakebasePrisma({ PrismaClient, env: lb.env, logger: capture });
    expect(await currentUser(own.prisma)).toBe(lb.env.PGUSER);
    expect(await currentUser(own.asUser(aliceHeaders))).toBe(ALICE);
    await own.$disconnect();
    expect(own.lakebase.closed).toBe(true);
    await own.$disconnect(); // idempotent
    // the older `config` spelling still works; options next to a shared lakebase are an error
    const legacy = lakebasePrisma({ PrismaClient, config: { env: lb.env, logger: capture } });
    expect(await currentUser(legacy.prisma)).toBe(lb.env.PGUSER);
    await legacy.$disconnect();
    expect(() => lakebasePrisma({ PrismaClient, lakebase, env: lb.env })).toThrow(
      ConfigurationError,
    );
  });
});

describe('lakebasePrismaAdapter', () => {
  it('is a PrismaPg over the SP pool that Prisma never ends', async () => {
    const adapter = lakebasePrismaAdapter({ lakebase, schema: SCHEMA });
    expect(adapter.lakebase).toBe(lakebase);
    const prisma = new PrismaClient({ adapter });
    expect(await currentUser(prisma)).toBe(lb.env.PGUSER);
    expect(await prisma.note.count()).toBeGreaterThan(0);
    await prisma.$disconnect();
    expect((await lakebase.pool.query('select current_user as u')).rows[0].u).toBe(lb.env.PGUSER);
  });

  it('refuses a pool that @prisma/adapter-pg would silently replace', () => {
    const notAPool = {
      options: { host: 'localhost' },
      query: () => undefined,
    } as unknown as pg.Pool;
    expect(() => prismaPgForPool(notAPool)).toThrow(ConfigurationError);
    expect(() => prismaPgForPool(notAPool)).toThrow(/copy of "pg"/);
  });
});
