/** Scale to zero and restarts, as the proxy's clients see them (real Postgres error codes). */
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { type LocalLakebase, startLocalLakebase } from '../../src/index.js';
import { connectAs, connectError, isPending, waitFor } from '../helpers.js';

const ALICE = 'alice@example.com';
let lb: LocalLakebase;

beforeAll(async () => {
  lb = await startLocalLakebase({ users: [ALICE] });
});
afterEach(() => {
  lb.faults.reset();
});
afterAll(async () => {
  await lb?.stop();
});

describe('scale to zero', () => {
  it('suspend terminates open connections with 57P01 (idle and busy) without crashing', async () => {
    const idle = await connectAs(lb, ALICE, lb.mintPgToken(ALICE).token);
    const busy = await connectAs(lb, ALICE, lb.mintPgToken(ALICE).token);
    const running = busy.query('select pg_sleep(30)');
    running.catch(() => undefined);
    const idleError = new Promise<Error & { code?: string }>((resolve) =>
      idle.once('error', resolve),
    );
    await lb.faults.suspend();
    await expect(running).rejects.toMatchObject({ code: '57P01' });
    expect((await idleError).code).toBe('57P01');
    await waitFor(() => lb.stats().openConnections === 0, 'connections to close');
    lb.faults.wake();
    const again = await connectAs(lb, ALICE, lb.mintPgToken(ALICE).token);
    expect((await again.query('select 1 as one')).rows[0].one).toBe(1);
    await again.end();
  });

  it('delay mode holds new connections until wake()', async () => {
    await lb.faults.suspend({ mode: 'delay' });
    lb.resetStats();
    const connecting = connectAs(lb, ALICE, lb.mintPgToken(ALICE).token);
    await waitFor(() => lb.stats().heldConnections === 1, 'the connection to be held');
    expect(lb.stats()).toMatchObject({ authAttempts: 1, openConnections: 0 });
    expect(await isPending(connecting)).toBe(true);
    lb.faults.wake();
    const client = await connecting;
    expect(lb.stats()).toMatchObject({ heldConnections: 0, openConnections: 1 });
    expect((await client.query('select current_user')).rows[0].current_user).toBe(ALICE);
    await client.end();
  });

  it('refuse mode rejects new connections with 57P03', async () => {
    await lb.faults.suspend({ mode: 'refuse' });
    const error = await connectError(lb, ALICE, lb.mintPgToken(ALICE).token);
    expect(error.code).toBe('57P03');
    expect(error.message).toBe('the database system is starting up');
    lb.faults.wake();
    const client = await connectAs(lb, ALICE, lb.mintPgToken(ALICE).token);
    await client.end();
  });

  it('restartPostgres drops open connections and keeps the data', async () => {
    await lb.sql('create table if not exists kept (v int)');
    await lb.sql('insert into kept values (42)');
    const client = await connectAs(lb, ALICE, lb.mintPgToken(ALICE).token);
    const dropped = new Promise<Error & { code?: string }>((resolve) =>
      client.once('error', resolve),
    );
    await lb.faults.restartPostgres();
    expect((await dropped).code).toBe('57P01');
    const rows = await lb.sql<{ v: number }>('select v from kept');
    expect(rows).toEqual([{ v: 42 }]);
    const after = await connectAs(lb, ALICE, lb.mintPgToken(ALICE).token);
    expect((await after.query('select 1 as one')).rows[0].one).toBe(1);
    await after.end();
  });

  it('connections arriving during restartPostgres wait for it and then work', async () => {
    lb.resetStats();
    const restarting = lb.faults.restartPostgres();
    const connecting = connectAs(lb, ALICE, lb.mintPgToken(ALICE).token);
    await waitFor(() => lb.stats().heldConnections === 1, 'the connection to wait for Postgres');
    const client = await connecting;
    await restarting;
    expect(lb.stats().heldConnections).toBe(0);
    expect((await client.query('select current_user')).rows[0].current_user).toBe(ALICE);
    await client.end();
  });
});
