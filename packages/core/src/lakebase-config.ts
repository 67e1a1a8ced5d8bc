/**
 * `createLakebase()` options: the service-principal pool options plus the on-behalf-of user
 * settings (`userPools`, `developmentFallback`, `env`), validated into `UserPoolSettings`.
 */
import { ValidationError } from './errors.js';
import type { LakebasePoolConfig } from './types.js';
import type { UserPoolSettings } from './user-pools.js';

/** Limits of the on-behalf-of user pools. */
export interface UserPoolsConfig {
  /** Connections per user pool (default 3). */
  max?: number;
  /** Open user connections across all user pools: the global budget (default 50). */
  maxConnections?: number;
  /** User pools kept at once; the least recently used is closed beyond it (default 1000). */
  maxPools?: number;
  /** Idle user connections close after this long; empty user pools are dropped after it (default 30000). */
  idleTimeoutMillis?: number;
}

/** Options of `createLakebase()`. */
export interface LakebaseConfig extends LakebasePoolConfig {
  userPools?: UserPoolsConfig;
  /**
   * A request without `x-forwarded-access-token` runs on the service principal's pool instead
   * of failing with 401 (one warning per process). Default: `env.NODE_ENV === 'development'`.
   */
  developmentFallback?: boolean;
  /** Environment to read (`PGHOST`, `LAKEBASE_ENDPOINT`, `NODE_ENV`, ...). Default `process.env`. */
  env?: NodeJS.ProcessEnv;
}

export const USER_POOL_DEFAULTS: Readonly<UserPoolSettings> = Object.freeze({
  max: 3,
  maxConnections: 50,
  maxPools: 1000,
  idleTimeoutMillis: 30_000,
});

function positiveInteger(name: keyof UserPoolsConfig, value: number | undefined, fallback: number) {
  if (value === undefined) return fallback;
  if (!Number.isInteger(value) || value < 1) {
    throw new ValidationError(
      `Invalid option "userPools.${name}": expected a positive integer, got ${String(value)}`,
      { option: `userPools.${name}` },
    );
  }
  return value;
}

/** `userPools` → validated settings with defaults. */
export function resolveUserPools(options: UserPoolsConfig = {}): UserPoolSettings {
  const idle = options.idleTimeoutMillis ?? USER_POOL_DEFAULTS.idleTimeoutMillis;
  if (typeof idle !== 'number' || !Number.isFinite(idle) || idle < 0) {
    throw new ValidationError(
      `Invalid option "userPools.idleTimeoutMillis": expected a non-negative number, got ${String(idle)}`,
      { option: 'userPools.idleTimeoutMillis' },
    );
  }
  const settings: UserPoolSettings = {
    max: positiveInteger('max', options.max, USER_POOL_DEFAULTS.max),
    maxConnections: positiveInteger(
      'maxConnections',
      options.maxConnections,
      USER_POOL_DEFAULTS.maxConnections,
    ),
    maxPools: positiveInteger('maxPools', options.maxPools, USER_POOL_DEFAULTS.maxPools),
    idleTimeoutMillis: idle,
  };
  if (settings.max > settings.maxConnections) {
    throw new ValidationError(
      `Invalid option "userPools.max" (${settings.max}): larger than userPools.maxConnections (${settings.maxConnections})`,
      { option: 'userPools.max' },
    );
  }
  return Object.freeze(settings);
}

/** Whether requests without a token fall back to the service principal. */
export function developmentFallbackEnabled(
  config: LakebaseConfig,
  env: NodeJS.ProcessEnv,
): boolean {
  return config.developmentFallback ?? env.NODE_ENV === 'development';
}
