/**
 * Failure modes on the local Lakebase: credential API outage, network errors, malformed
 * answers, revoked tokens, scale-to-zero (suspend/wake), Postgres restart. Every log line and
 * every error seen here is finally searched for tokens and secrets.
 */
import { type LocalLakebase, startLocalLakebase } from '@lakebase-kit/local';
import type pg from 'pg';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { LakebasePoolConfig } from '../../src/base/types.js';
import { CredentialError, DatabaseUnavailableError } from '../../src/index.js';
import { FakeClock } from '../support/fake-clock.js';
import { captureLogger, recordedSpPool, renderError, sleep, until } from '../support/sp-support.js';

let lb: LocalLakebase;
const log = captureLogger();
const seenErrors: unknown[] = [];
const issuedTokens: string[] = [];
const pools: pg.Pool[] = [];

beforeAll(async () => {
  lb = await startLocalLakebase();
});
afterEach(async () => {
  lb.faults.reset();
  // a test's pools end with it: their refresh-ahead would call the credential API (whose
  // counters the next test reads) in the middle of the next test
  await Promise.all(pools.splice(0).map((p) => (p.ending ? undefined : p.end())));
});
afterAll(async () => {
  await lb?.stop();
});

/** A pool on its own token cache, with the tokens it receives recorded. */
function setup(extra: Partial<LakebasePoolConfig> = {}, cache: { clock?: FakeClock } = {}) {
  const { pool, tokens, source } = recordedSpPool(lb, log.logger, extra, cache);
  pools.push(pool);
  const record = () => issuedTokens.push(...source.tokens);
  return { pool, tokens, source, record };
}

async function attempt<T>(
  fn: () => Promise<T>,
): Promise<{ ok: true; value: T } | { ok: false; error: unknown }> {
  try {
    return { ok: true, value: await fn() };
  } catch (error) {
    seenErrors.push(error);
    return { ok: false, error };
  }
}

describe('credential API outage', () => {
  it('0 failures while a token is valid, a clear CredentialError when none is, then recovery', async () => {
    // Time runs, and jumps: the token's lifetime passes without waiting it out.
    const clock = FakeClock.flowing();
    // every query = a new login; a connect may wait (and retry) 1.5 s for a token
    const { pool, tokens, record } = setup(
      { maxUses: 1, max: 2, connectionTimeoutMillis: 1500 },
      { clock },
    );
    await pool.query('select 1');
    const expiresAt = tokens.peek()!.expiresAt.getTime();

    lb.resetStats();
    lb.faults.credentials({ status: 503, message: 'Service is down for maintenance' });
    // to the refresh-ahead point (2 min before expiry): it calls the API, which fails
    await clock.advance(expiresAt - clock.now() - 119_000);
    await until(() => tokens.stats().failures > 0);
    // the token is still handed out (until 5 s before expiry): each query a new login, 0 failures
    const results = [];
    for (let i = 0; i < 8; i++)
      results.push(await attempt(() => pool.query('select current_user as me')));
    expect(
      results.filter((r) => !r.ok).map((r) => renderError((r as { error: unknown }).error)),
    ).toEqual([]);
    expect(lb.stats().credentialCallsTotal).toBeGreaterThanOrEqual(1); // refresh-ahead kept trying
    expect(log.lines.some((l) => l.includes('still serving the current token'))).toBe(true);

    // past expiry: no valid token is left, and the API is still down
    await clock.advance(expiresAt - clock.now() + 1000);
    const down = await attempt(() => pool.query('select 1'));
    expect(down.ok).toBe(false);
    const error = (down as { error: CredentialError }).error;
    expect(error).toBeInstanceOf(CredentialError);
    expect(error).toMatchObject({
      apiStatus: 503,
      errorCode: 'TEMPORARILY_UNAVAILABLE',
      retryable: true,
    });
    expect(error.message).toContain('HTTP 503 TEMPORARILY_UNAVAILABLE');
    expect(error.message).toContain(lb.endpoint);

    lb.faults.credentials(null);
    const { rows } = await pool.query('select current_user as me');
    expect(rows[0].me).toBe(lb.servicePrincipal.clientId);
    record();
  });

  it('a network failure (socket destroyed) is a retryable CredentialError', async () => {
    lb.faults.credentials({ status: 0 });
    // a connect may wait 2.5 s: longer than the 1 s a caller waits between attempts
    const { pool, record } = setup({ connectionTimeoutMillis: 2500 });
    const r = await attempt(() => pool.query('select 1'));
    expect(r.ok).toBe(false);
    const error = (r as { error: CredentialError }).error;
    expect(error).toBeInstanceOf(CredentialError);
    expect(error.retryable).toBe(true);
    expect(error.apiStatus).toBeUndefined();
    lb.faults.credentials(null);
    await pool.query('select 1'); // recovered, no restart
    record();
  });

  it.each(['not-json', 'missing-token', 'bad-expiry'] as const)(
    'a malformed answer (%s) is a CredentialError without the body',
    async (mode) => {
      lb.faults.credentialMalformed(mode);
      const { pool } = setup({ connectionTimeoutMillis: 1000 });
      const r = await attempt(() => pool.query('select 1'));
      const error = (r as { error: CredentialError }).error;
      expect(error).toBeInstanceOf(CredentialError);
      expect(error.message).toMatch(/not JSON|"token"|"expire_time"/);
      expect(renderError(error)).not.toContain('lbk_');
      expect(renderError(error)).not.toContain('<html>');
    },
  );

  it('one transient 503 at cold start fails nothing: the connect retries within its timeout', async () => {
    lb.faults.credentials({ status: 503, times: 1 });
    lb.resetStats();
    const { pool, record } = setup();
    const { rows } = await pool.query('select current_user as me');
    expect(rows[0].me).toBe(lb.servicePrincipal.clientId);
    expect(lb.stats().credentialCallsTotal).toBeGreaterThanOrEqual(2);
    record();
  });

  it('a hanging credential API is a typed CredentialError before pg gives up on the connect', async () => {
    lb.faults.credentialLatency(60_000);
    const { pool } = setup({ connectionTimeoutMillis: 1200 });
    const r = await attempt(() => pool.query('select 1'));
    expect(r.ok).toBe(false);
    const error = (r as { error: CredentialError }).error;
    expect(error).toBeInstanceOf(CredentialError);
    expect(error.retryable).toBe(true);
    expect(error.message).toMatch(/connect deadline|timed out/);
    expect(pool.totalCount).toBe(0);
    lb.faults.credentialLatency(0);
  });
});

it('a revoked token: the next connect succeeds after one retry with a fresh token', async () => {
  const { pool, tokens, record } = setup({ maxUses: 1 });
  await pool.query('select 1');
  const revoked = tokens.peek()!.token;
  lb.faults.revoke(lb.servicePrincipal.clientId);
  lb.resetStats();

  const { rows } = await pool.query('select current_user as me');
  expect(rows[0].me).toBe(lb.servicePrincipal.clientId);
  expect(lb.stats()).toMatchObject({ authAttempts: 2, authFailures: 1, credentialCallsTotal: 1 });
  expect(tokens.stats().invalidations).toBe(1);
  expect(tokens.peek()!.token).not.toBe(revoked);
  expect(log.lines.some((l) => l.includes('login rejected (28P01); retrying once'))).toBe(true);

  // A second rejection in a row is not retried again: the error surfaces.
  lb.faults.revoke(lb.servicePrincipal.clientId); // the cached token is rejected…
  lb.faults.setTokenTtl(0); // …and so is the fresh one (expired on arrival)
  lb.resetStats();
  const twice = await attempt(() => pool.query('select 1'));
  expect(twice.ok).toBe(false);
  expect((twice as { error: { code?: string } }).error.code).toBe('28P01');
  expect(lb.stats()).toMatchObject({ authAttempts: 2, authFailures: 2, credentialCallsTotal: 1 });
  lb.faults.setTokenTtl(3600);
  await pool.query('select 1');
  record();
});

describe('scale to zero', () => {
  it('suspend terminates connections without crashing; queries succeed after wake', async () => {
    const { pool, record } = setup({ max: 3 });
    const held = await pool.connect();
    const idle = await Promise.all([pool.connect(), pool.connect()]);
    for (const c of idle) c.release();
    expect(pool.idleCount).toBe(2);

    await lb.faults.suspend(); // 57P01 to every open connection
    await until(() => pool.totalCount === 1); // both idle clients removed, process alive
    const dead = await attempt(() => held.query('select 1'));
    expect(dead.ok).toBe(false);
    held.release(true);

    const pending = pool.query('select current_user as me'); // held by the proxy until wake
    await until(() => lb.stats().authAttempts > 0 || pool.totalCount > 0);
    lb.faults.wake();
    expect((await pending).rows[0].me).toBe(lb.servicePrincipal.clientId);
    expect(log.lines.some((l) => l.includes('connection lost (57P01)'))).toBe(true);
    record();
  });

  it('while the compute refuses (57P03), connects retry with backoff and succeed after wake', async () => {
    const { pool, record } = setup();
    await pool.query('select 1');
    await lb.faults.suspend({ mode: 'refuse' });
    const before = log.lines.length;
    const pending = pool.query('select current_user as me');
    await until(() =>
      log.lines.slice(before).some((l) => l.includes('(57P03); the compute may be waking up')),
    );
    lb.faults.wake();
    expect((await pending).rows[0].me).toBe(lb.servicePrincipal.clientId);
    record();
  });

  it('gives up with a typed 503 once connectionTimeoutMillis is spent, the wake error as cause', async () => {
    const { pool } = setup({ connectionTimeoutMillis: 600 });
    await lb.faults.suspend({ mode: 'refuse' });
    const r = await attempt(() => pool.query('select 1'));
    expect(r.ok).toBe(false);
    const error = (r as { error: DatabaseUnavailableError }).error;
    expect(error).toBeInstanceOf(DatabaseUnavailableError);
    expect(error).toMatchObject({ status: 503, statusCode: 503, code: 'LAKEBASE_UNAVAILABLE' });
    expect((error.cause as { code?: string }).code).toBe('57P03');
    expect(pool.totalCount).toBe(0);
    lb.faults.wake();
    await pool.query('select 1');
  });

  it('an unreachable host (nothing listening) is the same typed 503, within the connect timeout', async () => {
    const { pool } = setup({ port: 1, connectionTimeoutMillis: 800 });
    const r = await attempt(() => pool.query('select 1'));
    const error = (r as { error: DatabaseUnavailableError }).error;
    expect(error).toBeInstanceOf(DatabaseUnavailableError);
    expect((error.cause as { code?: string }).code).toBe('ECONNREFUSED');
    expect(error.message).toContain(':1 ');
  });
});

it('Postgres restart: the pool recovers and the process never crashes', async () => {
  const { pool, record } = setup({ max: 4 });
  await Promise.all([1, 2, 3, 4].map(() => pool.query('select pg_sleep(0.01)')));
  let restarting = true;
  const failures: unknown[] = [];
  let ok = 0;
  const workers = Array.from({ length: 4 }, async () => {
    while (restarting) {
      const r = await attempt(() => pool.query('select 1'));
      if (r.ok) ok++;
      else failures.push(r.error);
      await sleep(5);
    }
  });
  await until(() => ok >= 20);
  await lb.faults.restartPostgres();
  restarting = false;
  await Promise.all(workers);

  // In-flight queries may die with the server; nothing else may fail.
  for (const error of failures) {
    const code = (error as { code?: string }).code;
    const message = (error as Error).message;
    expect(
      code === '57P01' || /Connection terminated|not queryable|ECONNRESET/.test(message),
      renderError(error),
    ).toBe(true);
  }
  expect(ok).toBeGreaterThan(0);
  const after = await Promise.all(
    [1, 2, 3, 4, 5, 6].map(() => pool.query('select current_user as me')),
  );
  expect(after.every((r) => r.rows[0].me === lb.servicePrincipal.clientId)).toBe(true);
  record();
});

it('no token or secret in any log line or error', () => {
  expect(issuedTokens.length).toBeGreaterThan(5);
  expect(seenErrors.length).toBeGreaterThan(5);
  expect(log.lines.length).toBeGreaterThan(10);
  const haystack = [...log.lines, ...seenErrors.map((e) => renderError(e))];
  for (const text of haystack) {
    expect(text).not.toContain('lbk_');
    expect(text).not.toContain(lb.servicePrincipal.clientSecret);
    for (const token of issuedTokens) expect(text).not.toContain(token);
  }
});
