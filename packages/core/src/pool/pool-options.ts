/**
 * The `pg.PoolConfig` of a Lakebase pool, for one identity: connection settings from the
 * resolved config, TLS, the password source and the `LakebaseClient` class (client.ts) that
 * pg builds every connection with. Used by our pools and by `getPgConfig()`.
 */
import type pg from 'pg';
import type { Clock } from '../base/clock.js';
import type { Logger } from '../base/logger.js';
import type { ResolvedConfig } from '../config/resolve-config.js';
import { sslOptions } from '../config/tls.js';
import type { Telemetry } from '../telemetry/telemetry.js';
import {
  type ConnectionSlots,
  defaultClientBase,
  type LoginUser,
  lakebaseClientClass,
  type PasswordSource,
} from './client.js';
import type { HostCheck } from './endpoint-hosts.js';
import type { HostRoute } from './host-route.js';
import type { PooledStatements } from './pooled-statements.js';
import type { ReplicaGate } from './replica-gate.js';
import type { TokenCache } from './token-cache.js';
import type { WriteLsn } from './write-lsn.js';

/**
 * How one family of pools (the SP's, the users') reaches its endpoint when the app scales out:
 * each part optional, all of them shared by the family's pools.
 */
export interface ConnectionPlan {
  /** The hosts checked against the endpoint before the first connection. */
  hostCheck?: HostCheck;
  /** Pooled mode: the pooler, and the direct host after a fallback. */
  route?: HostRoute;
  /** Pooled mode: statements refused on the pooler. */
  pooled?: PooledStatements;
  /** A primary with a read replica: positions after writes. */
  writes?: WriteLsn;
  /** A read pool: waits for the replica to have this app's last write. */
  replica?: ReplicaGate;
}

export interface PoolConfigParts {
  config: ResolvedConfig;
  /** Low-cardinality: `lakebase:sp` or `lakebase:user`. */
  poolName: string;
  /** The role to log in as when known up front; `user.current()` wins once it is known. */
  userName: string | undefined;
  user?: LoginUser;
  passwords: PasswordSource;
  telemetry: Telemetry;
  logger: Logger;
  clock: Clock;
  slots?: ConnectionSlots;
  plan?: ConnectionPlan;
  /** Overrides of the config's pool options (user pools). */
  max?: number;
  idleTimeoutMillis?: number;
}

export interface BuiltPoolConfig {
  poolConfig: pg.PoolConfig;
  /** Shared with the client class: which token a failed login used. */
  rejectedTokens: WeakMap<object, string>;
}

/** Passwords from a token cache (OAuth), or the configured native password. */
export function passwordSource(
  config: ResolvedConfig,
  tokens: TokenCache | undefined,
): PasswordSource {
  const native = config.password;
  if (native !== undefined) {
    return {
      isToken: false,
      password: async () => (typeof native === 'function' ? await native() : native),
    };
  }
  if (!tokens) throw new Error('lakebase: an OAuth pool needs a token cache');
  return tokens;
}

export function lakebasePoolConfig(parts: PoolConfigParts): BuiltPoolConfig {
  const { config, poolName, telemetry } = parts;
  const rejectedTokens = new WeakMap<object, string>();
  const Base = config.Client ?? defaultClientBase;
  const Client = lakebaseClientClass(Base, {
    passwords: parts.passwords,
    user: parts.user,
    rejectedTokens,
    slots: parts.slots,
    clock: parts.clock,
    poolName,
    logger: parts.logger,
    telemetry,
    route: parts.plan?.route,
    pooled: parts.plan?.pooled,
    writes: parts.plan?.writes,
    tracer: telemetry.queryTracer({
      database: config.database,
      host: config.host,
      port: config.port,
      poolName,
      // the official `db.user`: the service principal's role only, never a user's email
      user: parts.user ? parts.userName : undefined,
    }),
  });
  const poolConfig: pg.PoolConfig = {
    ...config.pool,
    max: parts.max ?? config.pool.max,
    idleTimeoutMillis: parts.idleTimeoutMillis ?? config.pool.idleTimeoutMillis,
    host: config.host,
    port: config.port,
    database: config.database,
    user: parts.userName,
    // The client class sets the real password function per connection (with its deadline);
    // this one is what code that builds its own pg.Client from the config gets.
    password: () =>
      parts.passwords.password(parts.clock.now() + (config.pool.connectionTimeoutMillis || 10_000)),
    ssl: sslOptions(config),
    application_name: config.applicationName,
    Client,
  };
  return { poolConfig, rejectedTokens };
}
