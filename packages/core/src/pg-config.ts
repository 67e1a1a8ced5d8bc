/**
 * Connection settings for code that builds its own pool: `getLakebasePgConfig()` (a
 * `pg.PoolConfig`) and `getLakebaseOrmConfig()` (TypeORM / Sequelize style). Same names as the
 * official `@databricks/lakebase`. Their token cache refreshes lazily (on use, before expiry),
 * so no timer outlives the pool that nobody here can see end.
 */
import type pg from 'pg';
import { resolveConfig, resolveUser } from './config.js';
import { toOrmConfig } from './orm-config.js';
import { lakebasePoolConfig, servicePrincipalTokens } from './pool.js';
import { createTelemetry } from './telemetry.js';
import type { LakebasePoolConfig, OrmConfig } from './types.js';

/**
 * A `pg.PoolConfig` with the token password function, ssl, and the `LakebaseClient` class
 * (auth/wake retries, query spans): `new pg.Pool(getLakebasePgConfig())` behaves like
 * `createLakebasePool()` minus pool metrics.
 */
export function getLakebasePgConfig(config: Partial<LakebasePoolConfig> = {}): pg.PoolConfig {
  const resolved = resolveConfig(config);
  const telemetry = createTelemetry(resolved.telemetry);
  return lakebasePoolConfig({
    config: resolved,
    user: resolved.user ?? (() => resolveUser(resolved)),
    tokens: servicePrincipalTokens(resolved, telemetry, { refreshAhead: false }),
    poolName: 'lakebase:sp',
    Client: config.Client as typeof pg.Client | undefined,
    logger: resolved.logger,
    telemetry,
  });
}

/**
 * `{ host, port, database, username, password, ssl, ...pool options }` for ORMs that take
 * connection parameters. `password` is an async function returning a valid token.
 */
export function getLakebaseOrmConfig(config: Partial<LakebasePoolConfig> = {}): OrmConfig {
  const pgConfig = getLakebasePgConfig(config);
  return toOrmConfig(pgConfig, pgConfig.user, 'getLakebaseOrmConfig');
}
