/** Units: which Lakebase, ORM parsing, order input validation, error statuses. */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { AuthenticationError, PoolBudgetError, ValidationError } from '@lakebase-kit/core';
import { devEnvFileText } from '@lakebase-kit/local/dev-env';
import { afterAll, describe, expect, it } from 'vitest';
import { BadRequestError, errorStatus } from '../src/http-errors.js';
import { chooseLakebase, DevEnvFileError, MissingLakebaseError } from '../src/mode.js';
import { parseNewOrder } from '../src/orders-input.js';
import { parseOrm } from '../src/repos/index.js';
import { parseStartArgs } from '../src/start-args.js';

const ENDPOINT = 'projects/p/branches/b/endpoints/e';
const REAL_HOST = 'ep-x.database.azuredatabricks.net';
// A directory without .env.local, so that a developer's own file never decides a test.
const empty = mkdtempSync(path.join(os.tmpdir(), 'orders-mode-'));
afterAll(() => rmSync(empty, { recursive: true, force: true }));
const choose = (env: NodeJS.ProcessEnv, extra: Parameters<typeof chooseLakebase>[0] = { env }) =>
  chooseLakebase({ cwd: empty, ...extra, env });

describe('chooseLakebase', () => {
  it('a real Lakebase when LAKEBASE_ENDPOINT and a non-local PGHOST are set', async () => {
    const env = { LAKEBASE_ENDPOINT: ENDPOINT, PGHOST: REAL_HOST, NODE_ENV: 'production' };
    expect(await choose(env)).toMatchObject({
      kind: 'env',
      reason: expect.stringContaining(REAL_HOST),
    });
  });

  it('as a Databricks App or in production: a missing LAKEBASE_ENDPOINT or PGHOST is an error naming them and app.yaml', async () => {
    for (const env of [
      { DATABRICKS_APP_NAME: 'orders' },
      { DATABRICKS_APP_PORT: '8000', PGHOST: REAL_HOST },
      { NODE_ENV: 'production', LAKEBASE_ENDPOINT: ENDPOINT },
    ]) {
      const error = await choose(env).catch((e: unknown) => e);
      expect(error, JSON.stringify(env)).toBeInstanceOf(MissingLakebaseError);
      const missing = [
        !('LAKEBASE_ENDPOINT' in env) && 'LAKEBASE_ENDPOINT',
        !('PGHOST' in env) && 'PGHOST',
      ].filter(Boolean);
      expect((error as MissingLakebaseError).missing).toEqual(missing);
      for (const name of missing) expect((error as Error).message).toContain(name as string);
      expect((error as Error).message).toContain('valueFrom: postgres');
    }
  });

  it('a local Lakebase of its own only on request (--local, --data-dir) or in development', async () => {
    expect(await choose({ NODE_ENV: 'production' }, { env: {}, local: true })).toMatchObject({
      kind: 'own',
      reason: '--local',
    });
    expect(await choose({}, { env: {}, local: true, dataDir: '/tmp/x' })).toMatchObject({
      kind: 'own',
      dataDir: '/tmp/x',
    });
    expect(await choose({ NODE_ENV: 'development' })).toMatchObject({
      kind: 'own',
      reason: expect.stringContaining('no lakebase-kit dev env file'),
    });
    expect(parseStartArgs(['--', '--data-dir', 'd']).choose).toEqual({
      local: true,
      dataDir: 'd',
      envFile: undefined,
    });
  });

  it('an env file of a lakebase-kit dev that no longer answers: its own in development, an error when asked for', async () => {
    const file = path.join(empty, '.env.local');
    const env = { DATABRICKS_HOST: 'http://127.0.0.1:9', PGHOST: '127.0.0.1', PGPORT: '9' };
    writeFileSync(file, devEnvFileText({ env, userTokens: new Map() }));
    expect(await choose({})).toMatchObject({
      kind: 'own',
      reason: expect.stringContaining('no longer runs'),
    });
    await expect(choose({}, { env: {}, envFile: file })).rejects.toThrow(DevEnvFileError);
    await expect(choose({}, { env: {}, envFile: path.join(empty, 'none.env') })).rejects.toThrow(
      /not the env file of a running `lakebase-kit dev`/,
    );
    // Loaded into the environment (PGHOST on this machine) but gone: an error, not a new one.
    await expect(choose({ ...env, LAKEBASE_ENDPOINT: ENDPOINT })).rejects.toThrow(
      /nothing answers/,
    );
  });
});

describe('parseOrm', () => {
  it('accepts the three ORMs (default drizzle) and names them on a typo', () => {
    expect(parseOrm(undefined)).toBe('drizzle');
    expect(parseOrm('Kysely')).toBe('kysely');
    expect(parseOrm('prisma')).toBe('prisma');
    expect(() => parseOrm('typeorm')).toThrow('use one of drizzle, kysely, prisma');
  });
});

describe('parseNewOrder', () => {
  it('takes an item and a quantity (default 1)', () => {
    expect(parseNewOrder({ item: ' Tea ' })).toEqual({ item: 'Tea', quantity: 1 });
    expect(parseNewOrder({ item: 'Tea', quantity: '4' })).toEqual({ item: 'Tea', quantity: 4 });
  });
  it('refuses anything else with a BadRequestError', () => {
    for (const body of [
      undefined,
      {},
      { item: 3 },
      { item: 'x'.repeat(201) },
      { item: 'x', quantity: -1 },
    ]) {
      expect(() => parseNewOrder(body)).toThrow(BadRequestError);
    }
  });
});

describe('errorStatus', () => {
  it('maps typed errors to their HTTP status', () => {
    expect(errorStatus(new AuthenticationError('no token'))).toBe(401);
    expect(errorStatus(new ValidationError('bad header'))).toBe(400);
    expect(errorStatus(new PoolBudgetError('busy'))).toBe(503);
    expect(errorStatus(new BadRequestError('bad'))).toBe(400);
    expect(errorStatus(Object.assign(new Error('rls'), { code: '42501' }))).toBe(403);
    expect(errorStatus(new Error('boom'))).toBe(500);
    // An ORM's wrapper (Drizzle's DrizzleQueryError) keeps the driver error as its cause.
    const wrapped = new Error('Failed query', { cause: new AuthenticationError('no token') });
    expect(errorStatus(wrapped)).toBe(401);
  });
});
