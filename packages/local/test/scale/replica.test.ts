/**
 * A real streaming read replica: a hot standby made from a base backup of the primary, behind
 * a door of its own. Rows written on the primary show on it once it has replayed their WAL;
 * with lag switched on they arrive but do not show; writes on it fail as on any standby.
 * No sleeps: every wait is on a WAL position.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { type LocalLakebase, startLocalLakebase } from '../../src/index.js';
import { connectAt, postCredentials } from '../helpers.js';

const ALICE = 'alice@example.com';
let lb: LocalLakebase;

beforeAll(async () => {
  lb = await startLocalLakebase({ users: [ALICE], replicas: 1 });
  const owner = await connectAt(lb, main(), lb.projectOwner, token(lb.projectOwner));
  await owner.query('create table public.notes (id int primary key, body text)');
  await owner.query(`grant select, insert on public.notes to "${ALICE}"`);
  await owner.end();
});
afterEach(async () => {
  await lb.faults.replicaLag(false);
});
afterAll(async () => {
  await lb?.stop();
});

const main = () => ({ host: lb.env.PGHOST, port: Number(lb.env.PGPORT) });
const replica = () => lb.replicas[0]!;
const token = (identity: string) => lb.mintPgToken(identity).token;

async function insertOnPrimary(id: number): Promise<void> {
  const alice = await connectAt(lb, main(), ALICE, token(ALICE));
  await alice.query('insert into public.notes values ($1, $2)', [id, `note ${id}`]);
  await alice.end();
}

async function idsOnReplica(): Promise<number[]> {
  const alice = await connectAt(lb, replica(), ALICE, token(ALICE));
  const { rows } = await alice.query('select id from public.notes order by id');
  await alice.end();
  return rows.map((row) => row.id as number);
}

describe('a streaming read replica', () => {
  it('is a hot standby of the primary, on a host of its own, with a read-only endpoint', async () => {
    expect(lb.replicas).toHaveLength(1);
    expect(replica().endpoint).toBe('projects/local/branches/main/endpoints/read-replica-1');
    expect(replica().host).not.toBe(lb.env.PGHOST);
    expect(replica().env).toMatchObject({
      PGHOST: replica().host,
      PGPORT: String(replica().port),
      LAKEBASE_ENDPOINT: replica().endpoint,
      PGUSER: lb.env.PGUSER,
    });
    const [standby] = await replica().sql('select pg_is_in_recovery() as r');
    expect(standby.r).toBe(true);
    const [primary] = await lb.sql('select pg_is_in_recovery() as r');
    expect(primary.r).toBe(false);
    // It streams from the primary, as the replication role, through its slot.
    const senders = await lb.sql(
      `select r.application_name, r.usename, r.state, s.slot_name
       from pg_stat_replication r join pg_replication_slots s on s.active_pid = r.pid`,
    );
    expect(senders).toEqual([
      {
        application_name: 'read-replica-1',
        usename: 'lakebase_replicator',
        state: 'streaming',
        slot_name: 'lakebase_replica_read_replica_1',
      },
    ]);
  });

  it('a row written on the primary shows on the replica once replayed (through its door, TLS verified)', async () => {
    await insertOnPrimary(1);
    await replica().waitForReplay(await lb.currentLsn());
    expect(await idsOnReplica()).toContain(1);
    const alice = await connectAt(lb, replica(), ALICE, token(ALICE));
    const { rows } = await alice.query('select current_user, pg_is_in_recovery() as standby');
    expect(rows[0]).toEqual({ current_user: ALICE, standby: true });
    await alice.end();
  });

  it('with lag switched on, WAL arrives but the row does not show; switched off, it does', async () => {
    await lb.faults.replicaLag(true);
    await insertOnPrimary(2);
    const lsn = await lb.currentLsn();
    await replica().waitForReceive(lsn);
    expect(await idsOnReplica()).not.toContain(2);
    await expect(replica().waitForReplay(lsn)).rejects.toThrow(/replay is paused/);
    await lb.faults.replicaLag(false);
    await replica().waitForReplay(lsn);
    expect(await idsOnReplica()).toContain(2);
  });

  it('faults.reset() switches lag off', async () => {
    await lb.faults.replicaLag(true);
    const [paused] = await replica().sql('select pg_is_wal_replay_paused() as p');
    expect(paused.p).toBe(true);
    lb.faults.reset();
    await insertOnPrimary(3);
    await replica().waitForReplay(await lb.currentLsn());
    expect(await idsOnReplica()).toContain(3);
  });

  it('writes on the replica fail with 25006 (read-only transaction)', async () => {
    const alice = await connectAt(lb, replica(), ALICE, token(ALICE));
    const error = await alice
      .query("insert into public.notes values (99, 'no')")
      .catch((e: Error & { code?: string }) => e);
    expect((error as { code?: string }).code).toBe('25006');
    await alice.end();
  });

  it('the credential API mints tokens for the replica endpoint; they log in there', async () => {
    const answer = await postCredentials(lb, lb.userToken(ALICE), { endpoint: replica().endpoint });
    expect(answer.status).toBe(200);
    const { token: minted } = (await answer.json()) as { token: string };
    const alice = await connectAt(lb, replica(), ALICE, minted);
    expect((await alice.query('select current_user as u')).rows[0].u).toBe(ALICE);
    await alice.end();
    const unknown = await postCredentials(lb, lb.userToken(ALICE), {
      endpoint: 'projects/local/branches/main/endpoints/read-replica-9',
    });
    expect(unknown.status).toBe(404);
  });

  it('roles made on the primary reach the replica by replication', async () => {
    await lb.addUser('late@example.com');
    await replica().waitForReplay(await lb.currentLsn());
    const late = await connectAt(lb, replica(), 'late@example.com', token('late@example.com'));
    expect((await late.query('select current_user as u')).rows[0].u).toBe('late@example.com');
    await late.end();
  });
});
