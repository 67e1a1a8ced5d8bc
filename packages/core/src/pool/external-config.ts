/**
 * Connection settings for code that builds its own pool: `getLakebasePgConfig()` (a
 * `pg.PoolConfig`) and `getLakebaseOrmConfig()` (TypeORM / Sequelize style). Same names as the
 * official `@databricks/lakebase`. A pool built from them keeps the token password callback
 * and the `LakebaseClient` class (password deadline, spans, no crash on a dying connection),
 * but not what lives in `LakebasePool`: the retry after a rejected token, the wake-up backoff,
 * pool metrics and the graceful `end()`. Their token cache refreshes lazily (on use), so no
 * timer outlives a pool that nobody here can see end.
 */
import type pg from 'pg';
import { systemClock } from '../base/clock.js';
import { ConfigurationError } from '../base/errors.js';
import type { LakebasePoolConfig, OrmConfig } from '../base/types.js';
import { type ResolvedConfig, resolveConfig } from '../config/resolve-config.js';
import { Telemetry } from '../telemetry/telemetry.js';
import { lakebasePoolConfig, passwordSource } from './pool-options.js';
import { ServicePrincipal, servicePrincipalTokens } from './service-principal.js';
import type { TokenCache } from './token-cache.js';

/** The pg config of a config's own identity, on a given (or a new, lazy) token cache. */
export function identityPgConfig(
  config: ResolvedConfig,
  identity: ServicePrincipal,
  telemetry: Telemetry,
  tokens: TokenCache | undefined,
  caller: string,
): pg.PoolConfig {
  const userName = identity.current();
  if (userName === undefined) {
    throw new ConfigurationError(
      `${caller} needs the Postgres user up front: set option "user" or env PGUSER ` +
        '(or DATABRICKS_CLIENT_ID for a service principal), or look it up first with ' +
        'getUsernameWithApiLookup()',
      { option: 'user', envVar: 'PGUSER' },
    );
  }
  return lakebasePoolConfig({
    config,
    poolName: 'lakebase:sp',
    userName,
    user: identity,
    passwords: passwordSource(config, tokens),
    telemetry,
    logger: config.logger,
    clock: systemClock,
  }).poolConfig;
}

/** The pg config of one identity's pool, for `getPgConfig()` (handed to whoever needs it). */
export class IdentityPgConfigSource {
  readonly #config: ResolvedConfig;
  readonly #identity: ServicePrincipal;
  readonly #telemetry: Telemetry;
  readonly #tokens: TokenCache | undefined;

  constructor(
    config: ResolvedConfig,
    identity: ServicePrincipal,
    telemetry: Telemetry,
    tokens: TokenCache | undefined,
  ) {
    this.#config = config;
    this.#identity = identity;
    this.#telemetry = telemetry;
    this.#tokens = tokens;
  }

  /** See `identityPgConfig`; `caller` names the API in its error. */
  pgConfig(caller = 'getPgConfig'): pg.PoolConfig {
    return identityPgConfig(this.#config, this.#identity, this.#telemetry, this.#tokens, caller);
  }
}

/**
 * A `pg.PoolConfig` with the token password function, ssl and the `LakebaseClient` class:
 * `new pg.Pool(getLakebasePgConfig())` logs in with refreshed tokens (see the file header for
 * what such a pool lacks next to `createLakebasePool()`).
 */
export function getLakebasePgConfig(config: Partial<LakebasePoolConfig> = {}): pg.PoolConfig {
  const resolved = resolveConfig(config);
  const identity = new ServicePrincipal(resolved);
  const telemetry = new Telemetry(resolved.telemetry, resolved.endpoint);
  const tokens = servicePrincipalTokens(resolved, identity, telemetry, { refreshAhead: false });
  return identityPgConfig(resolved, identity, telemetry, tokens, 'getLakebasePgConfig');
}

/**
 * `{ host, port, database, username, password, ssl, ...pool options }` for ORMs that take
 * connection parameters. `password` is an async function returning a valid token.
 */
export function getLakebaseOrmConfig(config: Partial<LakebasePoolConfig> = {}): OrmConfig {
  const pgConfig = getLakebasePgConfig(config);
  return toOrmConfig(pgConfig, pgConfig.user, 'getLakebaseOrmConfig');
}

/** `pg.PoolConfig` → the TypeORM / Sequelize shape (`username`, simplified `ssl`). */
export function toOrmConfig(
  config: pg.PoolConfig,
  username: string | undefined,
  caller: string,
): OrmConfig {
  if (!username) {
    throw new ConfigurationError(
      `${caller} needs the Postgres user up front: set option "user" or env PGUSER ` +
        '(or DATABRICKS_CLIENT_ID for a service principal)',
      { option: 'user', envVar: 'PGUSER' },
    );
  }
  const { user: _user, password, ssl, Client: _client, host, port, database, ...rest } = config;
  const ormSsl: OrmConfig['ssl'] =
    ssl === false || ssl === undefined
      ? false
      : ssl === true
        ? true
        : {
            rejectUnauthorized: ssl.rejectUnauthorized !== false,
            ...(ssl.ca ? { ca: ssl.ca as string | Buffer } : {}),
            ...(ssl.servername ? { servername: ssl.servername } : {}),
          };
  return {
    ...rest,
    host: host as string,
    port: port as number,
    database: database as string,
    username,
    password: password as OrmConfig['password'],
    ssl: ormSsl,
  };
}
