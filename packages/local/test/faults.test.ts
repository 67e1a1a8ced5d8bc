import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { type LocalLakebase, startLocalLakebase } from '../src/index.js';
import {
  connectAs,
  connectError,
  isPending,
  postCredentials,
  spAccessToken,
  waitFor,
} from './helpers.js';

const ALICE = 'alice@example.com';
let lb: LocalLakebase;
let bearer: string;

beforeAll(async () => {
  lb = await startLocalLakebase({ users: [ALICE] });
  bearer = await spAccessToken(lb);
});
afterEach(() => {
  lb.faults.reset();
});
afterAll(async () => {
  await lb?.stop();
});

const sp = () => lb.servicePrincipal.clientId;

describe('credential faults', () => {
  it('status fault for `times` calls with a Databricks-style body, then normal again', async () => {
    lb.faults.credentials({ status: 503, times: 2 });
    for (let i = 0; i < 2; i++) {
      const response = await postCredentials(lb, bearer);
      expect(response.status).toBe(503);
      const body = (await response.json()) as { error_code: string; message: string };
      expect(body.error_code).toBe('TEMPORARILY_UNAVAILABLE');
      expect(typeof body.message).toBe('string');
    }
    expect((await postCredentials(lb, bearer)).status).toBe(200);
  });

  it('custom error code and message stay until cleared with null', async () => {
    lb.faults.credentials({ status: 403, errorCode: 'PERMISSION_DENIED', message: 'no access' });
    for (let i = 0; i < 3; i++) {
      const response = await postCredentials(lb, bearer);
      expect(response.status).toBe(403);
      expect(await response.json()).toEqual({
        error_code: 'PERMISSION_DENIED',
        message: 'no access',
      });
    }
    lb.faults.credentials(null);
    expect((await postCredentials(lb, bearer)).status).toBe(200);
  });

  it('status 0 destroys the socket (a network error)', async () => {
    lb.faults.credentials({ status: 0, times: 1 });
    await expect(postCredentials(lb, bearer)).rejects.toThrow(TypeError);
    expect((await postCredentials(lb, bearer)).status).toBe(200);
  });

  it('latency holds answers until it is cleared', async () => {
    lb.resetStats();
    lb.faults.credentialLatency(60_000);
    const answer = postCredentials(lb, bearer);
    await waitFor(() => lb.stats().credentialCallsTotal === 1, 'the call to arrive');
    expect(await isPending(answer)).toBe(true);
    lb.faults.credentialLatency(0);
    expect((await answer).status).toBe(200);
  });

  it('latency applies to every answer, including injected failures', async () => {
    lb.faults.credentialLatency(60_000);
    lb.faults.credentials({ status: 500, times: 1 });
    const answer = postCredentials(lb, bearer);
    expect(await isPending(answer)).toBe(true);
    lb.faults.credentialLatency(0);
    expect((await answer).status).toBe(500);
  });

  it('malformed answers: missing-token, bad-expiry, not-json', async () => {
    lb.faults.credentialMalformed('missing-token');
    const missing = (await (await postCredentials(lb, bearer)).json()) as Record<string, unknown>;
    expect(missing.token).toBeUndefined();
    expect(typeof missing.expire_time).toBe('string');

    lb.faults.credentialMalformed('bad-expiry');
    const badExpiry = (await (await postCredentials(lb, bearer)).json()) as Record<string, string>;
    expect(typeof badExpiry.token).toBe('string');
    expect(Number.isNaN(Date.parse(badExpiry.expire_time!))).toBe(true);

    lb.faults.credentialMalformed('not-json');
    const notJson = await postCredentials(lb, bearer);
    expect(notJson.status).toBe(200);
    await expect(notJson.json()).rejects.toThrow(SyntaxError);

    lb.faults.credentialMalformed(null);
    const ok = (await (await postCredentials(lb, bearer)).json()) as Record<string, string>;
    expect(typeof ok.token).toBe('string');
  });

  it('setTokenTtl changes the lifetime of minted tokens; reset restores it', async () => {
    lb.faults.setTokenTtl(120);
    const short = (await (await postCredentials(lb, bearer)).json()) as { expire_time: string };
    const lifetime = Date.parse(short.expire_time) - Date.now();
    expect(lifetime).toBeGreaterThan(60_000);
    expect(lifetime).toBeLessThanOrEqual(120_000);
    lb.faults.setTokenTtl(-1);
    const expired = (await (await postCredentials(lb, bearer)).json()) as { token: string };
    expect((await connectError(lb, sp(), expired.token)).code).toBe('28P01');
  });

  it('counts credential calls per identity, faulted ones included', async () => {
    lb.resetStats();
    await postCredentials(lb, bearer);
    lb.faults.credentials({ status: 500, times: 1 });
    await postCredentials(lb, bearer);
    await postCredentials(lb, lb.userToken(ALICE));
    await postCredentials(lb, 'unknown-bearer');
    const stats = lb.stats();
    expect(stats.credentialCalls).toEqual({ [sp()]: 2, [ALICE]: 1 });
    expect(stats.credentialCallsTotal).toBe(3);
  });
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
    await waitFor(() => lb.stats().authAttempts === 1, 'the connection to be held');
    expect(await isPending(connecting)).toBe(true);
    lb.faults.wake();
    const client = await connecting;
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
    const restarting = lb.faults.restartPostgres();
    const client = await connectAs(lb, ALICE, lb.mintPgToken(ALICE).token);
    await restarting;
    expect((await client.query('select current_user')).rows[0].current_user).toBe(ALICE);
    await client.end();
  });
});
