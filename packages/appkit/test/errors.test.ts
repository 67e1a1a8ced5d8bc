/**
 * Errors that fit their host: through the plugin, the kit's errors are AppKit's own classes
 * (`AppKitError` subclasses of `@databricks/appkit`, with AppKit's `code`, `statusCode` and
 * `isRetryable`), the core error kept as `cause`; Postgres' own errors pass through unchanged,
 * as the official plugin passes them. Each case is made real on the local Lakebase (faults,
 * a closed port, a user without a role), and no error ever shows a token.
 */
import { createServer } from 'node:net';
import {
  AppKitError,
  AuthenticationError,
  ConfigurationError,
  lakebase as officialLakebase,
  ValidationError,
} from '@databricks/appkit';
import { type LocalLakebase, startLocalLakebase } from '@lakebase-kit/local';
import { applyEnv, renderError, TOKEN_PATTERN } from '@lakebase-kit/local/testing';
import pg from 'pg';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { LakebasePlugin, type LakebasePluginConfig } from '../src/index.js';

const ALICE = 'alice@example.com';
const BOB = 'bob@example.com';
const NOROLE = 'norole@example.com';

let lb: LocalLakebase;
let restoreEnv: () => void;
let plugin: LakebasePlugin;
const others: LakebasePlugin[] = [];

async function make(config: LakebasePluginConfig = {}): Promise<LakebasePlugin> {
  const made = new LakebasePlugin({
    name: 'lakebase',
    doctor: false,
    logger: { info: false, warn: false, error: false },
    ...config,
  });
  await made.setup();
  others.push(made);
  return made;
}

/** What a caught error must be: AppKit's class, fields, and the core error as cause. */
function expectAppKit(error: unknown, fields: Record<string, unknown>, causeCode: string) {
  expect(error).toBeInstanceOf(AppKitError);
  expect(error).toMatchObject(fields);
  expect((error as Error).cause).toMatchObject({ code: causeCode });
  expect(renderError(error)).not.toMatch(TOKEN_PATTERN);
}

async function rejection(promise: Promise<unknown>): Promise<unknown> {
  try {
    await promise;
  } catch (error) {
    return error;
  }
  throw new Error('expected a rejection');
}

function thrown(fn: () => unknown): unknown {
  try {
    fn();
  } catch (error) {
    return error;
  }
  throw new Error('expected a throw');
}

/** A TCP port nothing listens on. */
async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise((resolve) => server.close(resolve));
  return port;
}

beforeAll(async () => {
  lb = await startLocalLakebase({ users: [ALICE, BOB, NOROLE] });
  restoreEnv = applyEnv({
    ...lb.env,
    DISABLE_APPKIT_INTERNAL_TELEMETRY: 'true',
    NODE_ENV: 'production',
  });
  // a workspace user whose Postgres role is gone
  await lb.sql(`drop owned by "${NOROLE}"; drop role "${NOROLE}"`);
  plugin = await make();
});
afterEach(() => lb.faults.reset());
afterAll(async () => {
  for (const made of others) await made.close();
  restoreEnv?.();
  await lb?.stop();
});

describe('errors through the plugin', () => {
  it('no user token: AuthenticationError 401 at once, with the official message', () => {
    const error = thrown(() => plugin.asUser({ headers: { 'x-forwarded-user': '123' } }));
    expect(error).toBeInstanceOf(AuthenticationError);
    expectAppKit(
      error,
      {
        code: 'AUTHENTICATION_ERROR',
        statusCode: 401,
        isRetryable: false,
        message: 'Missing user token in request headers',
      },
      'LAKEBASE_AUTHENTICATION',
    );
    // an empty header counts as missing, as in AppKit
    expect(
      thrown(() => plugin.asUser({ headers: { 'x-forwarded-access-token': '' } })),
    ).toMatchObject({ message: 'Missing user token in request headers' });
  });

  it('a token but no user: AuthenticationError 401 at once, with the official message', async () => {
    const token = (await lb.userHeaders(ALICE))['x-forwarded-access-token'] as string;
    const error = thrown(() => plugin.asUser({ headers: { 'x-forwarded-access-token': token } }));
    expectAppKit(
      error,
      {
        name: 'AuthenticationError',
        statusCode: 401,
        message:
          'User ID not available in request headers. Ensure the request has the x-forwarded-user header.',
      },
      'LAKEBASE_AUTHENTICATION',
    );
  });

  it("another user's token: AuthenticationError 401 from query, pool.query (promise and callback) and pool.connect", async () => {
    const forged = { ...(await lb.userHeaders(ALICE)), 'x-forwarded-email': BOB };
    const user = plugin.asUser({ headers: forged }).exports();
    const fields = { name: 'AuthenticationError', code: 'AUTHENTICATION_ERROR', statusCode: 401 };
    expectAppKit(await rejection(user.query('select 1')), fields, 'LAKEBASE_AUTHENTICATION');
    expectAppKit(await rejection(user.pool.query('select 1')), fields, 'LAKEBASE_AUTHENTICATION');
    expectAppKit(await rejection(user.pool.connect()), fields, 'LAKEBASE_AUTHENTICATION');
    const viaCallback = await new Promise((resolve) => {
      user.pool.query('select 1', (error: Error) => resolve(error));
    });
    expectAppKit(viaCallback, fields, 'LAKEBASE_AUTHENTICATION');
  });

  it('a user without a Postgres role: AuthenticationError (401), the 403 of core as cause', async () => {
    const user = plugin.asUser({ headers: await lb.userHeaders(NOROLE) }).exports();
    const error = await rejection(user.query('select 1'));
    expectAppKit(error, { name: 'AuthenticationError', statusCode: 401 }, 'LAKEBASE_FORBIDDEN');
    expect((error as Error).message).toMatch(/create-role/);
  });

  it("Postgres' own errors pass through unchanged, as in the official plugin", async () => {
    const { query, pool } = plugin.exports();
    for (const error of [
      await rejection(query('select * from nowhere')),
      await rejection(pool.query('select * from nowhere')),
    ]) {
      expect(error).not.toBeInstanceOf(AppKitError);
      expect(error).toMatchObject({ code: '42P01', severity: 'ERROR' });
    }
  });

  it('an unreachable database: ConnectionError 503, retryable', async () => {
    const down = await make({ pool: { port: await closedPort(), connectionTimeoutMillis: 1000 } });
    expectAppKit(
      await rejection(down.query('select 1')),
      { name: 'ConnectionError', code: 'CONNECTION_ERROR', statusCode: 503, isRetryable: true },
      'LAKEBASE_UNAVAILABLE',
    );
  });

  it('a credential call worth retrying: ConnectionError 503; one that is not: ConfigurationError 500', async () => {
    lb.faults.credentials({ status: 503 });
    const busy = await make({ pool: { connectionTimeoutMillis: 1000 } });
    expectAppKit(
      await rejection(busy.exports().pool.query('select 1')),
      { name: 'ConnectionError', statusCode: 503 },
      'LAKEBASE_CREDENTIAL',
    );
    lb.faults.credentials({ status: 403 });
    const denied = await make();
    expectAppKit(
      await rejection(denied.query('select 1')),
      { name: 'ConfigurationError', code: 'CONFIGURATION_ERROR', statusCode: 500 },
      'LAKEBASE_CREDENTIAL',
    );
  });

  it('a malformed option at setup: the name and code the official plugin gives, and a statusCode', async () => {
    const config = { name: 'lakebase', pool: { sslMode: 'verify-nothing' as never } };
    const official = new (officialLakebase(config).plugin)(config);
    const theirs = await rejection(official.setup());
    const ours = await rejection(
      new LakebasePlugin({ ...config, doctor: false, logger: { info: false } }).setup(),
    );
    expect(theirs).toMatchObject({ name: 'ValidationError', code: 'VALIDATION_ERROR' });
    expect(ours).toBeInstanceOf(ValidationError);
    expect(ours).toMatchObject({
      name: 'ValidationError',
      code: 'VALIDATION_ERROR',
      statusCode: 400,
    });
  });

  it('a stale PGHOST (not a host of LAKEBASE_ENDPOINT) stops setup, naming both', async () => {
    const stale = new LakebasePlugin({
      name: 'lakebase',
      pool: { host: '127.0.0.9' },
      doctor: false,
      logger: { info: false },
    });
    const error = await rejection(stale.setup());
    expect(error).toBeInstanceOf(ConfigurationError);
    expect((error as Error).message).toMatch(
      /PGHOST 127\.0\.0\.9:\d+ is not a host of projects\/local\/branches\/main\/endpoints\/primary \(it answers 127\.0\.0\.1\)/,
    );
    expect((error as Error).cause).toMatchObject({ code: 'LAKEBASE_CONFIGURATION' });
  });

  it('after shutdown: ConnectionError 503 from every call', async () => {
    const closed = await make();
    const user = await lb.userHeaders(ALICE);
    await closed.close();
    const fields = { name: 'ConnectionError', statusCode: 503 };
    expectAppKit(await rejection(closed.query('select 1')), fields, 'LAKEBASE_CLOSED');
    expectAppKit(await rejection(closed.exports().query('select 1')), fields, 'LAKEBASE_CLOSED');
    expectAppKit(
      thrown(() => closed.asUser({ headers: user })),
      fields,
      'LAKEBASE_CLOSED',
    );
  });

  it('a malformed plugin option: AppKit ConfigurationError naming it', () => {
    expect(thrown(() => new LakebasePlugin({ exposeAsAgentTool: { maxRows: 0 } }))).toMatchObject({
      constructor: ConfigurationError,
      context: { option: 'exposeAsAgentTool.maxRows' },
    });
  });

  it('the pool that answers AppKit errors is still the pool', async () => {
    const { pool } = plugin.exports();
    expect(pool).toBeInstanceOf(pg.Pool);
    expect(plugin.exports().pool).toBe(pool); // the same object on every access
    const client = await pool.connect();
    try {
      expect((await client.query('select 1 as n')).rows).toEqual([{ n: 1 }]);
      expect(pool.totalCount).toBeGreaterThan(0);
    } finally {
      client.release();
    }
    expect(pool.listenerCount('error')).toBeGreaterThanOrEqual(0);
  });
});
