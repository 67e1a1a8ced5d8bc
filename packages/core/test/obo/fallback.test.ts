import { type LocalLakebase, startLocalLakebase } from '@lakebase-kit/local';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  AuthenticationError,
  ClosedError,
  ConfigurationError,
  ValidationError,
} from '../../src/base/errors.js';
import type { Lakebase as LakebaseInstance } from '../../src/index.js';
import { createLakebase } from '../../src/lakebase.js';
import { ALICE, capturingLogger, headersFor } from '../support/obo-helpers.js';

let lb: LocalLakebase;
const open: LakebaseInstance[] = [];

function make(env: Record<string, string>, extra: Parameters<typeof createLakebase>[0] = {}) {
  const logger = capturingLogger();
  const lakebase = createLakebase({ env: { ...lb.env, ...env }, logger, ...extra });
  open.push(lakebase);
  return { lakebase, logger };
}

beforeAll(async () => {
  lb = await startLocalLakebase({ users: [ALICE] });
}, 60_000);

afterAll(async () => {
  await Promise.all(open.map((l) => l.close()));
  await lb?.stop();
});

describe('requests without a usable identity', () => {
  it('no token outside development → AuthenticationError with status 401', () => {
    const { lakebase } = make({ NODE_ENV: 'production' });
    for (const req of [
      {},
      { headers: {} },
      { headers: { 'x-forwarded-email': ALICE } },
      new Request('http://app/'),
    ]) {
      let error: unknown;
      try {
        lakebase.asUser(req as never);
      } catch (e) {
        error = e;
      }
      expect(error).toBeInstanceOf(AuthenticationError);
      expect((error as AuthenticationError).status).toBe(401);
    }
  });

  it('a token without an identity header is a 401 (even in development)', () => {
    const { lakebase } = make({ NODE_ENV: 'development' });
    expect(() => lakebase.asUser({ 'x-forwarded-access-token': lb.userToken(ALICE) })).toThrow(
      AuthenticationError,
    );
  });

  it('malformed headers → ValidationError', () => {
    const { lakebase } = make({ NODE_ENV: 'development' });
    const token = lb.userToken(ALICE);
    const bad = [
      { 'x-forwarded-access-token': token, 'x-forwarded-email': 'alice@example.com\nx: y' },
      { 'x-forwarded-access-token': token, 'x-forwarded-email': [ALICE, 'bob@example.com'] },
      { 'x-forwarded-access-token': token, 'x-forwarded-email': 'a'.repeat(1000) },
      { 'x-forwarded-access-token': [token, token], 'x-forwarded-email': ALICE },
      { 'x-forwarded-access-token': 7, 'x-forwarded-email': ALICE },
    ];
    for (const headers of bad) {
      let error: unknown;
      try {
        lakebase.asUser(headers as never);
      } catch (e) {
        error = e;
      }
      expect(error).toBeInstanceOf(ValidationError);
      expect((error as Error).message).not.toContain(token);
    }
  });

  it('NODE_ENV=development without a token → the SP pool, with one warning per Lakebase', async () => {
    const first = make({ NODE_ENV: 'development' });
    const second = make({ NODE_ENV: 'development' });
    const scope = first.lakebase.asUser({ headers: {} });
    expect(scope.isServicePrincipalFallback).toBe(true);
    expect(scope.identity).toBe(lb.servicePrincipal.clientId);
    expect(first.lakebase.asUser({})).toBe(scope); // one cached scope
    const { rows } = await scope.query('select current_user as who');
    expect(rows[0].who).toBe(lb.servicePrincipal.clientId);
    const viaPool = await scope.pool.query('select current_user as who');
    expect(viaPool.rows[0].who).toBe(lb.servicePrincipal.clientId);
    for (let i = 0; i < 20; i++) {
      first.lakebase.asUser({});
      second.lakebase.asUser(new Request('http://app/'));
    }
    const warnings = [...first.logger.lines, ...second.logger.lines].filter((l) =>
      l.startsWith('warn'),
    );
    expect(warnings).toHaveLength(2); // one per Lakebase, however many requests
    expect(first.logger.lines.filter((l) => l.startsWith('warn'))).toHaveLength(1);
    expect(warnings[0]).toMatch(/development fallback/);

    // ending the fallback scope's pool never ends the SP pool
    await scope.pool.end();
    expect(first.lakebase.pool.ending).toBe(false);
    expect((await first.lakebase.query('select 1 as one')).rows[0].one).toBe(1);
  });

  it('development with a token still runs as the user', async () => {
    const { lakebase } = make({ NODE_ENV: 'development' });
    const scope = lakebase.asUser(headersFor(lb, ALICE));
    expect(scope.isServicePrincipalFallback).toBe(false);
    expect((await scope.query('select current_user as who')).rows[0].who).toBe(ALICE);
  });

  it('developmentFallback: false turns the fallback off even in development', () => {
    const { lakebase } = make({ NODE_ENV: 'development' }, { developmentFallback: false });
    expect(() => lakebase.asUser({})).toThrow(AuthenticationError);
  });

  it('inside a Databricks App or with NODE_ENV=production, no token is a 401 even with NODE_ENV=development', async () => {
    const envs: Array<Record<string, string>> = [
      { NODE_ENV: 'development', DATABRICKS_APP_NAME: 'orders' },
      { NODE_ENV: 'development', DATABRICKS_APP_PORT: '8000' },
      { NODE_ENV: 'production' },
      {},
    ];
    for (const env of envs) {
      const { lakebase, logger } = make(env);
      expect(() => lakebase.asUser({ headers: {} }), JSON.stringify(env)).toThrow(
        AuthenticationError,
      );
      expect(logger.lines.filter((l) => l.startsWith('warn'))).toEqual([]);
    }
    // only code turns it on there, deliberately
    const { lakebase } = make(
      { NODE_ENV: 'production', DATABRICKS_APP_NAME: 'orders' },
      { developmentFallback: true },
    );
    expect(lakebase.asUser({}).isServicePrincipalFallback).toBe(true);
  });

  it('the workspace host that user tokens go to must be https (http only on loopback)', async () => {
    const { lakebase } = make({ DATABRICKS_HOST: 'http://workspace.example.com' });
    const error = await lakebase
      .asUser(headersFor(lb, ALICE))
      .query('select 1')
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ConfigurationError);
    expect((error as Error).message).toMatch(/not https/);
  });

  it('after close(), asUser and query throw ClosedError', async () => {
    const { lakebase } = make({ NODE_ENV: 'development' });
    await lakebase.close();
    expect(() => lakebase.asUser({})).toThrow(ClosedError);
    await expect(lakebase.query('select 1')).rejects.toBeInstanceOf(ClosedError);
  });
});
