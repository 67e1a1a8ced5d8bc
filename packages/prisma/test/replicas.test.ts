/**
 * `db.replica(req?)` with `@prisma/extension-read-replicas` on the Lakebase's read-only
 * endpoint (a real streaming standby): the extension sends reads there and writes to the
 * primary; as a user, RLS applies; each read after a write sees it (read-your-writes).
 */
import { createLakebase, type Lakebase } from '@lakebase-kit/core';
import { type LocalLakebase, startLocalLakebase } from '@lakebase-kit/local';
import { readReplicas } from '@prisma/extension-read-replicas';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type LakebasePrisma, lakebasePrisma } from '../src/index.js';
import { PrismaClient } from './generated/client.js';

const ALICE = 'alice@example.com';
const SCHEMA = 'prisma_test';
const silent = { debug() {}, info() {}, warn() {}, error() {} };

let lb: LocalLakebase;
let lakebase: Lakebase;
let db: LakebasePrisma<PrismaClient>;

beforeAll(async () => {
  lb = await startLocalLakebase({ users: [ALICE], replicas: 1 });
  const replica = lb.replicas[0]!;
  lakebase = createLakebase({
    env: lb.env,
    logger: silent,
    read: { endpoint: replica.endpoint, host: `${replica.host}:${replica.port}` },
  });
  await lakebase.query(`create schema ${SCHEMA};
    create table ${SCHEMA}.notes (id integer generated always as identity primary key,
      body text not null, owner text not null default current_user);
    alter table ${SCHEMA}.notes enable row level security;
    create policy own_notes on ${SCHEMA}.notes using (owner = current_user) with check (owner = current_user);
    grant usage on schema ${SCHEMA} to "${ALICE}";
    grant select, insert on ${SCHEMA}.notes to "${ALICE}"`);
  db = lakebasePrisma({ PrismaClient, lakebase, adapterOptions: { schema: SCHEMA } });
}, 120_000);
afterAll(async () => {
  await db?.$disconnect();
  await lakebase?.close();
  await lb?.stop();
});

const standby = async (client: { $queryRaw: PrismaClient['$queryRaw'] }) =>
  (await client.$queryRaw<{ s: boolean }[]>`select pg_is_in_recovery() as s`)[0]!.s;

describe('lakebasePrisma with a read-only endpoint', () => {
  it('replica() is a client on the read-only endpoint, prisma on the primary', async () => {
    expect(await standby(db.replica())).toBe(true);
    expect(await standby(db.prisma)).toBe(false);
  });

  it('the read-replicas extension: reads there, writes on the primary, each read sees its write', async () => {
    const prisma = db.prisma.$extends(readReplicas({ replicas: [db.replica()] }));
    for (let i = 1; i <= 5; i++) {
      const note = await prisma.note.create({ data: { body: `sp ${i}` } });
      expect(await prisma.note.findUnique({ where: { id: note.id } })).toMatchObject({
        body: `sp ${i}`,
      });
    }
    expect(await standby(prisma.$replica())).toBe(true);
    expect(await standby(prisma.$primary())).toBe(false);
  });

  it('as a user: the replica client runs as them, RLS applied', async () => {
    const headers = await lb.userHeaders(ALICE);
    const alice = db
      .asUser({ headers })
      .$extends(readReplicas({ replicas: [db.replica({ headers })] }));
    const note = await alice.note.create({ data: { body: 'alice' } });
    const seen = await alice.note.findMany();
    expect(seen.map((n) => [n.id, n.owner])).toEqual([[note.id, ALICE]]);
    const who = await alice.$replica().$queryRaw<{ u: string; s: boolean }[]>`
      select current_user as u, pg_is_in_recovery() as s`;
    expect(who).toEqual([{ u: ALICE, s: true }]);
  });
});
