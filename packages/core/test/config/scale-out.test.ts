import { describe, expect, it } from 'vitest';
import { resolveConfig } from '../../src/config/resolve-config.js';
import {
  directHostOf,
  isPoolerHost,
  poolerHostOf,
  resolveScaleOut,
  type ScaleOutOptions,
} from '../../src/config/scale-out.js';
import { ConfigurationError, silentLogger, ValidationError } from '../../src/index.js';

const ENDPOINT = 'projects/p1/branches/main/endpoints/primary';
const DIRECT = 'ep-cool-1.database.us-east-1.cloud.databricks.com';
const POOLED = 'ep-cool-1-pooler.database.us-east-1.cloud.databricks.com';

function scale(options: ScaleOutOptions = {}, extra: Record<string, string> = {}) {
  const config = resolveConfig(
    { logger: silentLogger },
    { LAKEBASE_ENDPOINT: ENDPOINT, PGHOST: DIRECT, PGDATABASE: 'databricks_postgres', ...extra },
  );
  return resolveScaleOut(options, config);
}

describe('scale-out options', () => {
  it('tells a pooled host from a direct one by its first label only', () => {
    expect(isPoolerHost(POOLED)).toBe(true);
    expect(isPoolerHost(DIRECT)).toBe(false);
    expect(isPoolerHost('-pooler.example.com')).toBe(false);
    expect(isPoolerHost('db.ep-1-pooler.example.com')).toBe(false);
    expect(poolerHostOf(DIRECT)).toBe(POOLED);
    expect(directHostOf(POOLED)).toBe(DIRECT);
  });

  it('is off by default: every connection to PGHOST, the host check on', () => {
    expect(scale()).toEqual({
      hostCheck: 'error',
      direct: { host: DIRECT, port: 5432 },
      pooler: undefined,
      read: undefined,
    });
  });

  it('turns pooled mode on for a -pooler PGHOST, with the direct host for sessions', () => {
    const resolved = scale({}, { PGHOST: POOLED });
    expect(resolved.pooler).toMatchObject({
      host: POOLED,
      port: 5432,
      fallback: true,
      directMax: 5,
    });
    expect(resolved.direct).toEqual({ host: DIRECT, port: 5432 });
  });

  it('derives the pooled host from a direct PGHOST with pooler: true (or LAKEBASE_POOLER), or takes it as given', () => {
    expect(scale({ pooler: true }).pooler).toMatchObject({ host: POOLED, port: 5432 });
    expect(scale({}, { LAKEBASE_POOLER: 'true' }).pooler).toMatchObject({ host: POOLED });
    expect(scale({ pooler: { host: '127.0.0.1:6432', directMax: 2 } }).pooler).toMatchObject({
      host: '127.0.0.1',
      port: 6432,
      directMax: 2,
    });
    expect(
      scale({}, { LAKEBASE_POOLER: 'on', LAKEBASE_POOLER_HOST: '[::1]:7000' }).pooler,
    ).toMatchObject({ host: '::1', port: 7000 });
  });

  it('refuses a pooled PGHOST with pooler: false, half a password role, and bad values, naming them', () => {
    expect(() => scale({ pooler: false }, { PGHOST: POOLED })).toThrow(ConfigurationError);
    const half = (() => {
      try {
        scale({ pooler: { user: 'app_pooler' } });
      } catch (error) {
        return error as ConfigurationError;
      }
    })();
    expect(half).toBeInstanceOf(ConfigurationError);
    expect(half?.option).toBe('pooler.password');
    expect(() => scale({}, { LAKEBASE_POOLER: 'maybe' })).toThrow(/LAKEBASE_POOLER "maybe"/);
    expect(() => scale({ pooler: { host: 'a:b:c' } })).toThrow(ValidationError);
    expect(() => scale({ pooler: { directMax: 0 } })).toThrow(/pooler.directMax/);
    expect(() => scale({ hostCheck: 'loud' as never })).toThrow(/hostCheck.*error, warn, off/);
  });

  it('takes the password role from the env, and never echoes the password', () => {
    const resolved = scale(
      { pooler: true },
      { LAKEBASE_POOLER_USER: 'app_pooler', LAKEBASE_POOLER_PASSWORD: 's3cret-pw' },
    );
    expect(resolved.pooler).toMatchObject({ user: 'app_pooler', password: 's3cret-pw' });
    let message = '';
    try {
      scale({ pooler: { password: 's3cret-pw' } });
    } catch (error) {
      message = (error as Error).message;
    }
    expect(message).toMatch(/pooler.user/);
    expect(message).not.toContain('s3cret-pw');
  });

  it('needs the read-only host for a read endpoint, and validates the read options', () => {
    expect(() => scale({ read: true })).toThrow(/LAKEBASE_READ_HOST/);
    const read = scale(
      {},
      {
        LAKEBASE_READ_ENDPOINT: 'projects/p1/branches/main/endpoints/replica',
        LAKEBASE_READ_HOST: 'ep-ro-1.database.us-east-1.cloud.databricks.com',
      },
    ).read;
    expect(read).toEqual({
      endpoint: 'projects/p1/branches/main/endpoints/replica',
      host: { host: 'ep-ro-1.database.us-east-1.cloud.databricks.com', port: 5432 },
      consistency: 'read-your-writes',
      maxWaitMs: 200,
      max: 10,
    });
    expect(scale({ read: false }, { LAKEBASE_READ_HOST: 'x' }).read).toBeUndefined();
    expect(() => scale({ read: { host: 'x', consistency: 'strong' as never } })).toThrow(
      /read.consistency/,
    );
    expect(() => scale({ read: { host: 'x', endpoint: 'replica' } })).toThrow(ValidationError);
    expect(() => scale({ read: { host: 'x', maxWaitMs: -1 } })).toThrow(/read.maxWaitMs/);
    // the read side needs a session of its own: a pooled read-only host is refused, naming the direct one
    expect(() =>
      scale({}, { LAKEBASE_READ_HOST: 'ep-ro-1-pooler.database.us-east-1.cloud.databricks.com' }),
    ).toThrow(
      /is a pooled host .* LAKEBASE_READ_HOST to ep-ro-1\.database\.us-east-1\.cloud\.databricks\.com/,
    );
  });
});
