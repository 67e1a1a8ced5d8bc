/**
 * The host check: before the first connection, the configured hosts are compared with what the
 * endpoints API says of LAKEBASE_ENDPOINT. The stale PGHOST here is a real, reachable server —
 * the read replica's host — that would otherwise answer every query.
 */
import { type LocalLakebase, startLocalLakebase } from '@lakebase-kit/local';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runDoctor } from '../../src/admin/doctor.js';
import { ConfigurationError, type Lakebase } from '../../src/index.js';
import { createLakebase } from '../../src/lakebase.js';
import { ALICE, capturingLogger } from '../support/obo-helpers.js';

let lb: LocalLakebase;
/** The app's environment (its service principal). */
let ownerEnv: Record<string, string>;
const opened: Lakebase[] = [];

beforeAll(async () => {
  lb = await startLocalLakebase({ replicas: 1, users: [ALICE] });
  // the app's service principal may read its endpoint (as its app resource lets it)
  ownerEnv = lb.env;
}, 120_000);
afterAll(async () => {
  await Promise.all(opened.map((l) => l.close()));
  await lb?.stop();
});

function make(env: Record<string, string>, options: Parameters<typeof createLakebase>[0] = {}) {
  const logger = capturingLogger();
  const lakebase = createLakebase({ env, logger, ...options });
  opened.push(lakebase);
  return { lakebase, logger };
}

const replica = () => lb.replicas[0]!;
/** The primary's endpoint with the replica's host and port: a stale PGHOST that connects. */
const staleEnv = () => ({
  ...ownerEnv,
  PGHOST: replica().host,
  PGPORT: String(replica().port),
});

describe('the host check', () => {
  it('lets the endpoint’s own host through, asking the API once', async () => {
    const { lakebase, logger } = make(ownerEnv);
    await lakebase.ready();
    const { rows } = await lakebase.query('select pg_is_in_recovery() as standby');
    expect(rows).toEqual([{ standby: false }]);
    expect(logger.lines.filter((l) => l.startsWith('warn'))).toEqual([]);
  });

  it('catches a stale PGHOST at startup, before any connection, naming both hosts', async () => {
    // without the check the stale host answers: the query runs on another endpoint
    const unchecked = make(staleEnv(), { hostCheck: 'off' }).lakebase;
    expect((await unchecked.query('select pg_is_in_recovery() as standby')).rows).toEqual([
      { standby: true },
    ]);

    const { lakebase } = make(staleEnv());
    const before = lb.stats().authAttempts;
    const failure = await lakebase.ready().catch((error: unknown) => error);
    expect(failure).toBeInstanceOf(ConfigurationError);
    expect((failure as ConfigurationError).message).toContain(
      `PGHOST ${replica().host}:${replica().port} is not a host of ${lb.endpoint}`,
    );
    expect((failure as ConfigurationError).message).toContain('127.0.0.1');
    // every connection fails with the same error, and none reached the server
    await expect(lakebase.query('select 1')).rejects.toBe(failure);
    await expect(lakebase.pool.connect()).rejects.toBeInstanceOf(ConfigurationError);
    expect(lb.stats().authAttempts).toBe(before);
  });

  it("only warns, once, with hostCheck 'warn' (or LAKEBASE_HOST_CHECK=warn)", async () => {
    const { lakebase, logger } = make({ ...staleEnv(), LAKEBASE_HOST_CHECK: 'warn' });
    await lakebase.query('select 1');
    await lakebase.query('select 1');
    const warnings = logger.lines.filter((l) => l.startsWith('warn'));
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toMatch(/is not a host of .*hostCheck 'warn'/);
  });

  it('goes on, saying so once (info, no alarm), when the identity may not read the endpoint', async () => {
    // a user logging in as themselves has no CAN_USE on the local project
    const { lakebase, logger } = make(lb.envFor(ALICE));
    await lakebase.ready();
    await lakebase.query('select 1');
    await lakebase.query('select 1');
    const lines = logger.lines.filter((l) => /could not check the hosts/.test(l));
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(/^info .*CAN_USE/);
    expect(logger.lines.filter((l) => l.startsWith('warn'))).toEqual([]);
  });

  it('checks the read-only host too', async () => {
    const { lakebase } = make(ownerEnv, {
      // the primary's host given as the read-only endpoint's
      read: { endpoint: replica().endpoint, host: `127.0.0.1:${ownerEnv.PGPORT}` },
    });
    await expect(lakebase.ready()).rejects.toThrow(
      /the read-only host 127\.0\.0\.1:\d+ is not a host of .*read-replica-1/,
    );
  });

  it('the doctor’s hosts check: the endpoint’s hosts, and the stale PGHOST as an error', async () => {
    const good = await runDoctor({ db: make(ownerEnv).lakebase, env: ownerEnv, config: {} });
    const hosts = good.checks.find((check) => check.id === 'hosts');
    expect(hosts).toMatchObject({ status: 'ok' });
    expect(hosts?.finding).toContain(`127.0.0.1 is a host of ${lb.endpoint}`);
    expect(good.checks.find((check) => check.id === 'config')?.finding).toContain(
      '(branch projects/local/branches/main)',
    );

    const stale = await runDoctor({
      db: make(staleEnv(), { hostCheck: 'off' }).lakebase,
      env: staleEnv(),
      config: {},
    });
    expect(stale.checks.find((check) => check.id === 'hosts')).toMatchObject({
      status: 'error',
      subjects: [replica().host],
    });
  });
});
