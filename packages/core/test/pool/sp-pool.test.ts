import { WorkspaceClient } from '@databricks/sdk-experimental';
import { type LocalLakebase, startLocalLakebase } from '@lakebase-kit/local';
import { metrics, trace } from '@opentelemetry/api';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { resolveConfig } from '../../src/config/resolve-config.js';
import {
  ConfigurationError,
  CredentialError,
  createLakebasePool,
  createTokenRefreshCallback,
  getLakebaseOrmConfig,
  getLakebasePgConfig,
  LakebasePool,
  ValidationError,
} from '../../src/index.js';
import {
  ServicePrincipal,
  servicePrincipalPool,
  servicePrincipalTokens,
} from '../../src/pool/service-principal.js';
import { Telemetry } from '../../src/telemetry/telemetry.js';
import { captureLogger, localPoolOptions, renderError } from '../support/sp-support.js';

let lb: LocalLakebase;
let clientId: string;
const log = captureLogger();
beforeAll(async () => {
  lb = await startLocalLakebase();
  clientId = lb.servicePrincipal.clientId;
});
afterAll(async () => {
  await lb?.stop();
});

describe('createLakebasePool (service principal)', () => {
  it('is a real pg.Pool that logs in as the SP client id, events intact', async () => {
    const pool = createLakebasePool(localPoolOptions(lb, { logger: log.logger }));
    expect(pool).toBeInstanceOf(pg.Pool);
    expect(pool).toBeInstanceOf(LakebasePool);
    const events: string[] = [];
    for (const name of ['connect', 'acquire', 'release', 'remove'] as const) {
      pool.on(name, () => events.push(name));
    }
    const { rows } = await pool.query('select current_user as me');
    expect(rows[0].me).toBe(clientId);
    expect(clientId).toMatch(/^[0-9a-f-]{36}$/);
    const removed = new Promise((resolve) => pool.once('remove', resolve));
    await pool.end();
    await removed;
    expect(events).toEqual(['connect', 'acquire', 'release', 'remove']);
  });

  it("a config object is the caller's: reused by pool.query and a client, with telemetry on and off", async () => {
    for (const telemetry of [{}, { traces: false, metrics: false }]) {
      const pool = createLakebasePool(localPoolOptions(lb, { logger: log.logger, telemetry }));
      try {
        const named = { name: 'who_named', text: 'select current_user as me' };
        const before = Object.keys(named).sort();
        for (let i = 0; i < 2; i++) {
          // pool.query hands pg a callback of pg-pool's; the client's query below has none
          expect((await pool.query(named)).rows).toEqual([{ me: clientId }]);
          const client = await pool.connect();
          try {
            expect((await client.query(named))?.rows).toEqual([{ me: clientId }]);
          } finally {
            client.release();
          }
        }
        expect(Object.keys(named).sort()).toEqual(before);
      } finally {
        await pool.end();
      }
    }
  });

  it('50 concurrent connects → 1 credential call', async () => {
    const pool = createLakebasePool(localPoolOptions(lb, { max: 50, logger: log.logger }));
    lb.resetStats();
    const clients = await Promise.all(Array.from({ length: 50 }, () => pool.connect()));
    const users = await Promise.all(clients.map((c) => c.query('select current_user as me')));
    for (const c of clients) c.release();
    expect(new Set(users.map((r) => r.rows[0].me))).toEqual(new Set([clientId]));
    const stats = lb.stats();
    expect(stats.credentialCalls[clientId]).toBe(1);
    expect(stats.credentialCallsTotal).toBe(1);
    expect(stats.connections[clientId]?.peak).toBe(50);
    expect(stats.authFailures).toBe(0);
    await pool.end();
  });

  it('resolves the user with SCIM currentUser.me() when none is configured', async () => {
    const options = localPoolOptions(lb, { logger: log.logger });
    delete options.user;
    const config = resolveConfig(options, {}); // no PGUSER, no DATABRICKS_CLIENT_ID
    expect(config.user).toBeUndefined();
    const pool = servicePrincipalPool(config, new Telemetry(config.telemetry), {
      ownsTelemetry: true,
    });
    // concurrent first connects share one SCIM lookup, then log in as its answer
    const results = await Promise.all([1, 2, 3].map(() => pool.query('select current_user as me')));
    expect(results.map((r) => r.rows[0].me)).toEqual([clientId, clientId, clientId]);
    await pool.end();
  });

  it('getLakebasePgConfig → new pg.Pool works (password function, Client subclass)', async () => {
    const config = getLakebasePgConfig(localPoolOptions(lb, { logger: log.logger }));
    expect(typeof config.password).toBe('function');
    expect(config.ssl).toEqual(
      lb.env.PGSSLMODE === 'disable'
        ? false
        : expect.objectContaining({ rejectUnauthorized: true }),
    );
    // our pg.Client subclass (token password with a deadline, spans), not pg's own Client
    expect(config.Client).not.toBe(pg.Client);
    expect(config.Client?.prototype).toBeInstanceOf(pg.Client);
    expect(config).toMatchObject({
      max: 10,
      connectionTimeoutMillis: 10_000,
      idleTimeoutMillis: 30_000,
    });
    const pool = new pg.Pool(config);
    const { rows } = await pool.query('select current_user as me, current_setting($1) as app', [
      'application_name',
    ]);
    expect(rows[0]).toEqual({ me: clientId, app: 'lakebase-kit' });
    await pool.end();
  });

  it("createTokenRefreshCallback (the official package's) feeds a plain pg.Pool, single-flight", async () => {
    const meter = metrics.getMeter('test');
    const callback = createTokenRefreshCallback({
      userConfig: localPoolOptions(lb, { logger: log.logger }),
      endpoint: lb.env.LAKEBASE_ENDPOINT,
      telemetry: {
        tracer: trace.getTracer('test'),
        meter,
        tokenRefreshDuration: meter.createHistogram('t'),
        queryDuration: meter.createHistogram('q'),
        poolErrors: meter.createCounter('e'),
      },
      logger: log.logger,
    });
    const { ssl } = getLakebasePgConfig(localPoolOptions(lb, { logger: log.logger }));
    const pool = new pg.Pool({
      host: lb.env.PGHOST,
      port: Number(lb.env.PGPORT),
      database: lb.env.PGDATABASE,
      user: clientId,
      password: callback,
      ssl,
      max: 20,
    });
    lb.resetStats();
    const results = await Promise.all(
      Array.from({ length: 20 }, () => pool.query('select current_user as me')),
    );
    expect(new Set(results.map((r) => r.rows[0].me))).toEqual(new Set([clientId]));
    expect(lb.stats().credentialCalls[clientId]).toBe(1);
    await pool.end();
  });

  it('getLakebaseOrmConfig gives { host, port, database, username, password(), ssl }', async () => {
    const orm = getLakebaseOrmConfig(localPoolOptions(lb, { logger: log.logger }));
    expect(orm).toMatchObject({
      host: lb.env.PGHOST,
      port: Number(lb.env.PGPORT),
      database: lb.env.PGDATABASE,
      username: clientId,
      ssl: lb.env.PGSSLMODE === 'disable' ? false : expect.any(Object),
    });
    expect(orm).not.toHaveProperty('Client');
    expect(typeof orm.password).toBe('function');
    const client = new pg.Client({
      host: orm.host,
      port: orm.port,
      database: orm.database,
      user: orm.username,
      password: orm.password as () => Promise<string>,
      ssl: orm.ssl,
    });
    await client.connect();
    expect((await client.query('select current_user as me')).rows[0].me).toBe(clientId);
    await client.end();

    const noUser = localPoolOptions(lb);
    delete noUser.user;
    const saved = {
      PGUSER: process.env.PGUSER,
      DATABRICKS_CLIENT_ID: process.env.DATABRICKS_CLIENT_ID,
    };
    delete process.env.PGUSER;
    delete process.env.DATABRICKS_CLIENT_ID;
    try {
      expect(() => getLakebaseOrmConfig(noUser)).toThrow(ConfigurationError);
    } finally {
      for (const [k, v] of Object.entries(saved)) if (v !== undefined) process.env[k] = v;
    }
  });

  it('native password mode uses the given password and never calls the credential API', async () => {
    lb.resetStats();
    const pool = createLakebasePool({
      ...localPoolOptions(lb, { logger: log.logger }),
      endpoint: undefined,
      password: async () => lb.mintPgToken(clientId).token,
    });
    expect((await pool.query('select current_user as me')).rows[0].me).toBe(clientId);
    expect(lb.stats().credentialCallsTotal).toBe(0);
    await pool.end();
  });

  it('bad config → typed errors naming the variable', () => {
    const bad = (extra: Record<string, unknown>) => () =>
      createLakebasePool({ ...localPoolOptions(lb), ...extra });
    expect(bad({ endpoint: 'projects/local/endpoints/primary' })).toThrow(ValidationError);
    expect(bad({ endpoint: 'projects/local/endpoints/primary' })).toThrow(/LAKEBASE_ENDPOINT/);
    expect(bad({ port: 0 })).toThrow(/PGPORT/);
    expect(bad({ sslMode: 'maybe' })).toThrow(/PGSSLMODE/);
  });

  it('an unknown endpoint → CredentialError with status and Databricks error code', async () => {
    const pool = createLakebasePool(
      localPoolOptions(lb, {
        endpoint: 'projects/other/branches/main/endpoints/primary',
        logger: log.logger,
      }),
    );
    const error = await pool.query('select 1').catch((e) => e);
    expect(error).toBeInstanceOf(CredentialError);
    expect(error).toMatchObject({ apiStatus: 404, errorCode: 'NOT_FOUND', retryable: false });
    expect(error.message).toContain('projects/other/branches/main/endpoints/primary');
    expect(renderError(error)).not.toContain(lb.servicePrincipal.clientSecret);
    expect(pool.totalCount).toBe(0);
    await pool.end();
  });

  it('a workspace client with a wrong secret → CredentialError without the secret', async () => {
    const wrongSecret = 'wrong-secret-0123456789abcdef';
    const pool = createLakebasePool(
      localPoolOptions(lb, {
        workspaceClient: new WorkspaceClient({
          host: lb.env.DATABRICKS_HOST,
          clientId: clientId,
          clientSecret: wrongSecret,
          authType: 'oauth-m2m',
          retryTimeoutSeconds: 1,
        }),
        logger: log.logger,
      }),
    );
    const error = await pool.query('select 1').catch((e) => e);
    expect(error).toBeInstanceOf(CredentialError);
    expect(error.retryable).toBe(false);
    expect(error.message).toMatch(/invalid_client|authentication failed/i);
    expect(renderError(error)).not.toContain(wrongSecret);
    await pool.end();
  });

  it('composes with a caller Client subclass (the OBO side passes one)', async () => {
    let connects = 0;
    class CountingClient extends pg.Client {
      // biome-ignore lint/suspicious/noExplicitAny: pg overloads
      override connect(...args: any[]): any {
        connects++;
        // biome-ignore lint/suspicious/noExplicitAny: pg overloads
        return (super.connect as any)(...args);
      }
    }
    const pool = createLakebasePool(
      localPoolOptions(lb, { Client: CountingClient, logger: log.logger }),
    );
    expect((await pool.query('select current_user as me')).rows[0].me).toBe(clientId);
    expect(connects).toBe(1);
    await pool.end();
  });

  it('the workspace client can come from the SDK default chain (env)', async () => {
    const options = localPoolOptions(lb, { logger: log.logger });
    delete options.workspaceClient;
    const config = resolveConfig(options, { ...lb.env });
    const telemetry = new Telemetry(config.telemetry);
    const tokens = servicePrincipalTokens(config, new ServicePrincipal(config), telemetry);
    const token = await tokens?.getToken();
    tokens?.close();
    // the token minted through the env's auth chain logs the SP in
    const client = new pg.Client({
      host: lb.env.PGHOST,
      port: Number(lb.env.PGPORT),
      database: lb.env.PGDATABASE,
      user: lb.env.PGUSER,
      password: token,
      ssl: lb.tls ? { ca: lb.tls.caPem } : false,
    });
    await client.connect();
    try {
      expect((await client.query('select current_user as me')).rows[0].me).toBe(lb.env.PGUSER);
    } finally {
      await client.end();
    }
  });

  it('never logs a secret', () => {
    expect(log.lines.length).toBeGreaterThan(0);
    for (const line of log.lines) {
      expect(line).not.toContain(lb.servicePrincipal.clientSecret);
      expect(line).not.toContain('wrong-secret-0123456789abcdef');
      expect(line).not.toMatch(/lbk_/);
    }
  });
});
