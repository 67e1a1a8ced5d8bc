import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { describe, expect, it } from 'vitest';
import { resolveConfig } from '../../src/config/resolve-config.js';
import { sslOptions } from '../../src/config/tls.js';
import { ConfigurationError, DEFAULTS, silentLogger, ValidationError } from '../../src/index.js';
import { ServicePrincipal } from '../../src/pool/service-principal.js';
import { isPgInstrumented, Telemetry } from '../../src/telemetry/telemetry.js';

const ENDPOINT = 'projects/p1/branches/main/endpoints/primary';
const env = (extra: Record<string, string> = {}): NodeJS.ProcessEnv => ({
  LAKEBASE_ENDPOINT: ENDPOINT,
  PGHOST: 'ep-1.database.example.com',
  PGDATABASE: 'databricks_postgres',
  ...extra,
});

function errorOf(fn: () => unknown): Error & { option?: string; envVar?: string } {
  try {
    fn();
  } catch (error) {
    return error as Error & { option?: string; envVar?: string };
  }
  throw new Error('expected an error');
}

describe('resolveConfig', () => {
  it('reads the environment, with defaults, and freezes the result', () => {
    const config = resolveConfig(
      { logger: silentLogger },
      env({ DATABRICKS_CLIENT_ID: 'sp-uuid' }),
    );
    expect(config).toMatchObject({
      endpoint: ENDPOINT,
      host: 'ep-1.database.example.com',
      port: 5432,
      database: 'databricks_postgres',
      user: 'sp-uuid',
      sslMode: 'require',
      ssl: undefined,
      applicationName: DEFAULTS.applicationName,
      password: undefined,
      refreshBufferMs: 120_000,
      // one credential call ends before the 10 s connect timeout that waits on it
      credentialTimeoutMs: 5000,
      telemetry: { traces: true, metrics: true, queries: undefined },
    });
    // require verifies, as the official kit: the chain and the host name
    expect(sslOptions(config)).toEqual({
      rejectUnauthorized: true,
      servername: 'ep-1.database.example.com',
    });
    expect(config.pool).toMatchObject({
      max: 10,
      connectionTimeoutMillis: 10_000,
      idleTimeoutMillis: 30_000,
      maxLifetimeSeconds: 3600,
    });
    expect(Object.isFrozen(config)).toBe(true);
    expect(Object.isFrozen(config.pool)).toBe(true);
  });

  it('options win over env; user precedence is user → PGUSER → DATABRICKS_CLIENT_ID', () => {
    const e = env({
      PGUSER: 'pg-user',
      DATABRICKS_CLIENT_ID: 'client',
      PGPORT: '6543',
      PGAPPNAME: 'app',
    });
    expect(resolveConfig({}, e)).toMatchObject({
      user: 'pg-user',
      port: 6543,
      applicationName: 'app',
    });
    expect(resolveConfig({ user: 'opt', port: 7000, host: 'h', database: 'd' }, e)).toMatchObject({
      user: 'opt',
      port: 7000,
      host: 'h',
      database: 'd',
    });
    expect(resolveConfig({}, env()).user).toBeUndefined(); // → SCIM lookup on first connect
  });

  it('passes other pg options through and takes pool overrides', () => {
    const config = resolveConfig(
      { max: 3, statement_timeout: 5000, idleTimeoutMillis: 1000, maxLifetimeSeconds: 60 },
      env(),
    );
    expect(config.pool).toMatchObject({
      max: 3,
      statement_timeout: 5000,
      idleTimeoutMillis: 1000,
      maxLifetimeSeconds: 60,
    });
    expect(config.pool).not.toHaveProperty('endpoint');
    expect(config.pool).not.toHaveProperty('logger');
  });

  it('missing values are ConfigurationErrors naming the option and the env variable', () => {
    const noEndpoint = errorOf(() => resolveConfig({}, env({ LAKEBASE_ENDPOINT: '' })));
    expect(noEndpoint).toBeInstanceOf(ConfigurationError);
    expect(noEndpoint).toMatchObject({ option: 'endpoint', envVar: 'LAKEBASE_ENDPOINT' });
    expect(noEndpoint.message).toMatch(/"endpoint".*LAKEBASE_ENDPOINT/);

    const noHost = errorOf(() => resolveConfig({}, { ...env(), PGHOST: undefined }));
    expect(noHost).toBeInstanceOf(ConfigurationError);
    expect(noHost).toMatchObject({ option: 'host', envVar: 'PGHOST' });
    expect(noHost.message).toContain('PGHOST');

    const noDb = errorOf(() => resolveConfig({}, { ...env(), PGDATABASE: undefined }));
    expect(noDb).toMatchObject({ option: 'database', envVar: 'PGDATABASE' });
    expect(noDb.message).toContain('PGDATABASE');
  });

  it('invalid values are ValidationErrors naming the option and the env variable', () => {
    const badEndpoint = errorOf(() =>
      resolveConfig({}, env({ LAKEBASE_ENDPOINT: 'projects/x/endpoints/y' })),
    );
    expect(badEndpoint).toBeInstanceOf(ValidationError);
    expect(badEndpoint).toMatchObject({ option: 'endpoint', envVar: 'LAKEBASE_ENDPOINT' });
    expect(badEndpoint.message).toContain('LAKEBASE_ENDPOINT');

    for (const port of ['abc', '0', '70000', '54.3']) {
      const bad = errorOf(() => resolveConfig({}, env({ PGPORT: port })));
      expect(bad).toBeInstanceOf(ValidationError);
      expect(bad).toMatchObject({ option: 'port', envVar: 'PGPORT' });
      expect(bad.message).toContain('PGPORT');
    }

    const badSsl = errorOf(() => resolveConfig({}, env({ PGSSLMODE: 'sometimes' })));
    expect(badSsl).toBeInstanceOf(ValidationError);
    expect(badSsl).toMatchObject({ option: 'sslMode', envVar: 'PGSSLMODE' });

    // the root certificate is read when the pool is built (config resolution does no I/O)
    const rooted = resolveConfig(
      {},
      env({ PGSSLMODE: 'verify-full', PGSSLROOTCERT: '/nonexistent/root.crt' }),
    );
    expect(rooted.sslRootCert).toBe('/nonexistent/root.crt');
    const badRoot = errorOf(() => sslOptions(rooted));
    expect(badRoot).toBeInstanceOf(ConfigurationError);
    expect(badRoot).toMatchObject({ option: 'sslRootCert', envVar: 'PGSSLROOTCERT' });

    expect(() => resolveConfig({ max: -1 }, env())).toThrow(ValidationError);
    const badPoolSize = errorOf(() => resolveConfig({ poolSize: 2.5 }, env()));
    expect(badPoolSize).toBeInstanceOf(ValidationError);
    expect(badPoolSize.option).toBe('poolSize');
    expect(() => resolveConfig({ telemetry: 'yes' as never }, env())).toThrow(ValidationError);
    expect(() => resolveConfig({ Client: 'pg' as never }, env())).toThrow(ValidationError);
  });

  it("honours pg's poolSize alias when max is not given", () => {
    expect(resolveConfig({ poolSize: 4 }, env()).pool.max).toBe(4);
    expect(resolveConfig({ poolSize: 4, max: 7 }, env()).pool.max).toBe(7);
    expect(resolveConfig({}, env()).pool.max).toBe(10);
  });

  it('the default credential timeout stays below connectionTimeoutMillis; an explicit one wins', () => {
    expect(resolveConfig({ connectionTimeoutMillis: 4000 }, env()).credentialTimeoutMs).toBe(2000);
    expect(resolveConfig({ connectionTimeoutMillis: 120_000 }, env()).credentialTimeoutMs).toBe(
      30_000,
    );
    expect(resolveConfig({ connectionTimeoutMillis: 0 }, env()).credentialTimeoutMs).toBe(30_000);
    expect(resolveConfig({ credentialTimeoutMs: 9000 }, env()).credentialTimeoutMs).toBe(9000);
  });

  it('maps libpq sslmodes onto node-postgres ssl options', () => {
    const dir = mkdtempSync(join(tmpdir(), 'lbk-ca-'));
    const ca = join(dir, 'root.crt');
    writeFileSync(ca, '-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n');
    const ssl = (mode: string, extra: Record<string, string> = {}) =>
      sslOptions(resolveConfig({}, env({ PGSSLMODE: mode, ...extra }))) as
        | false
        | { rejectUnauthorized?: boolean; checkServerIdentity?: unknown };
    expect(ssl('disable')).toBe(false);
    expect(ssl('allow')).toEqual({ rejectUnauthorized: false });
    expect(ssl('prefer')).toEqual({ rejectUnauthorized: false });
    expect(ssl('require')).toEqual({
      rejectUnauthorized: true,
      servername: 'ep-1.database.example.com',
    });
    expect(ssl('require', { PGSSLROOTCERT: ca })).toMatchObject({
      rejectUnauthorized: true,
      ca: expect.stringContaining('BEGIN'),
    });
    const verifyCa = ssl('verify-ca', { PGSSLROOTCERT: ca });
    expect(verifyCa).toMatchObject({ rejectUnauthorized: true });
    expect(verifyCa && typeof verifyCa.checkServerIdentity).toBe('function');
    expect(ssl('verify-full')).toEqual({
      rejectUnauthorized: true,
      servername: 'ep-1.database.example.com',
    });
    expect(ssl('verify-full', { PGSSLROOTCERT: 'system' })).toEqual({
      rejectUnauthorized: true,
      servername: 'ep-1.database.example.com',
    });
    expect(sslOptions(resolveConfig({ sslMode: 'disable' }, env({ PGSSLMODE: 'require' })))).toBe(
      false,
    );
    expect(
      sslOptions(resolveConfig({ ssl: { rejectUnauthorized: true, ca: 'x' } }, env())),
    ).toEqual({ rejectUnauthorized: true, ca: 'x' });
    expect(sslOptions(resolveConfig({ ssl: true }, env()))).toEqual({ rejectUnauthorized: true });
  });

  it('native password mode needs no endpoint', () => {
    const config = resolveConfig({ password: 'secret' }, { PGHOST: 'h', PGDATABASE: 'd' });
    expect(config.endpoint).toBeUndefined();
    expect(config.password).toBe('secret');
  });

  it('telemetry switches; query spans are skipped, per query, while instrumentation-pg patches pg', () => {
    expect(resolveConfig({ telemetry: false }, env()).telemetry).toEqual({
      traces: false,
      metrics: false,
      queries: false,
      names: 'official',
    });
    expect(resolveConfig({ telemetry: { metrics: false } }, env()).telemetry).toEqual({
      traces: true,
      metrics: false,
      queries: undefined,
      names: 'official',
    });
    expect(resolveConfig({ telemetry: { names: 'both' } }, env()).telemetry.names).toBe('both');
    expect(() => resolveConfig({ telemetry: { names: 'otel' as never } }, env())).toThrow(
      /telemetry\.names.*official, semconv, both.*"otel"/,
    );

    // What instrumentation-pg (shimmer) leaves on a patched prototype.
    class Patched extends pg.Client {}
    const original = Patched.prototype.query;
    const wrapped = Object.assign(
      function query(this: unknown, ...a: unknown[]) {
        return (original as (...x: unknown[]) => unknown).apply(this, a);
      },
      { __wrapped: true, __original: original },
    );
    Object.defineProperty(Patched.prototype, 'query', {
      value: wrapped,
      configurable: true,
      writable: true,
    });
    expect(isPgInstrumented(pg.Client)).toBe(false);
    expect(isPgInstrumented(Patched)).toBe(true);
    const auto = new Telemetry(resolveConfig({}, env()).telemetry);
    expect(auto.recordsQueries(pg.Client)).toBe(true);
    expect(auto.recordsQueries(Patched)).toBe(false);
    const forced = new Telemetry(resolveConfig({ telemetry: { queries: true } }, env()).telemetry);
    expect(forced.recordsQueries(Patched)).toBe(true);
    expect(
      new Telemetry(resolveConfig({ telemetry: false }, env()).telemetry).recordsQueries(pg.Client),
    ).toBe(false);
  });

  it('the workspace client is created lazily, once, from the given env', async () => {
    const config = resolveConfig(
      {},
      env({ DATABRICKS_HOST: 'http://127.0.0.1:1', DATABRICKS_TOKEN: 'dapi-x' }),
    );
    expect(config.workspaceClient).toBeUndefined();
    const sp = new ServicePrincipal(config);
    const first = sp.workspaceClient;
    expect(first).toBe(sp.workspaceClient);
    expect((await first.config.getHost()).origin).toBe('http://127.0.0.1:1');
  });
});

describe('connectionString', () => {
  const base = { endpoint: ENDPOINT, logger: silentLogger };

  it('spreads host, port, database, user and sslmode; explicit options win', () => {
    const config = resolveConfig(
      {
        ...base,
        connectionString:
          'postgresql://alice%40example.com@ep-2.example.com:6543/app?sslmode=verify-full',
        database: 'explicit',
      },
      {},
    );
    expect(config.host).toBe('ep-2.example.com');
    expect(config.port).toBe(6543);
    expect(config.database).toBe('explicit');
    expect(config.user).toBe('alice@example.com');
    expect(config.sslMode).toBe('verify-full');
  });

  it('a password in it means native password mode; a bad one is a ValidationError without the secret', () => {
    const config = resolveConfig(
      { connectionString: 'postgres://u:s3cret-pw@db.example.com/app', logger: silentLogger },
      {},
    );
    expect(config.password).toBe('s3cret-pw');
    const bad = errorOf(() =>
      resolveConfig({ ...base, connectionString: 'mysql://u:s3cret-pw@db/app' }, env()),
    );
    expect(bad).toBeInstanceOf(ValidationError);
    expect(bad.option).toBe('connectionString');
    expect(bad.message).not.toContain('s3cret-pw');
    const garbage = errorOf(() =>
      resolveConfig({ ...base, connectionString: 'not a url s3cret-pw' }, env()),
    );
    expect(garbage).toBeInstanceOf(ValidationError);
    expect(garbage.message).not.toContain('s3cret-pw');
  });

  it('honours every URL parameter as pg does: ours are mapped, the rest pass through', () => {
    const config = resolveConfig(
      {
        ...base,
        connectionString:
          'postgresql://sp@ep-3.example.com/app?application_name=orders&options=-c%20search_path%3Dapp' +
          '&client_encoding=UTF8&sslmode=verify-ca&sslrootcert=%2Fetc%2Fca.pem',
      },
      {},
    );
    expect(config.applicationName).toBe('orders');
    expect(config.sslMode).toBe('verify-ca');
    expect(config.sslRootCert).toBe('/etc/ca.pem');
    expect(config.pool).toMatchObject({ options: '-c search_path=app', client_encoding: 'UTF8' });
    expect(config.pool).not.toHaveProperty('sslmode');
    expect(config.pool).not.toHaveProperty('application_name');
    const explicit = resolveConfig(
      {
        ...base,
        connectionString: 'postgresql://sp@h/app?application_name=url',
        application_name: 'option',
      },
      {},
    );
    expect(explicit.applicationName).toBe('option');
  });
});
