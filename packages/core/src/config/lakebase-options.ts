/**
 * `createLakebase()` options: the service-principal pool options plus the on-behalf-of user
 * settings (`userPools`, `developmentFallback`, `env`), validated into `UserPoolSettings`.
 */
import { ValidationError } from '../base/errors.js';
import type { LakebasePoolConfig } from '../base/types.js';
import type { ScaleOutOptions } from './scale-out.js';

export interface UserPoolSettings {
  /** Connections per user pool. */
  max: number;
  /** Open user connections across all user pools. */
  maxConnections: number;
  /** User pools kept at once. */
  maxPools: number;
  /** An idle connection closes after this long; a pool without any is dropped after this long. */
  idleTimeoutMillis: number;
  /** Forwarded tokens verified at once. */
  maxConcurrentVerifications: number;
  /** Verifications waiting for a slot. */
  maxQueuedVerifications: number;
}

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
  /**
   * How a verified user's work reaches Postgres (default `login`):
   * - `login`: a pool per user, logged in with the user's own Lakebase token;
   * - `set-role`: the service principal's pool, the session switched to the user's role
   *   (`SET ROLE`); the SP must hold SET on every user's role;
   * - `auto`: `set-role` for the identities the SP may `SET ROLE` to, `login` for the others.
   */
  mode?: UserPoolsMode;
  /** Forwarded tokens verified (SCIM `Me`) at once (default 32). */
  maxConcurrentVerifications?: number;
  /**
   * Verifications waiting for a slot (default 1000); past that, a request with a token not yet
   * verified gets an `OverloadedError` (503) at once instead of a place in an unbounded queue.
   */
  maxQueuedVerifications?: number;
}

export type UserPoolsMode = 'login' | 'set-role' | 'auto';
const MODES: readonly UserPoolsMode[] = ['login', 'set-role', 'auto'];

/** Options of `createLakebase()`. */
export interface LakebaseConfig extends LakebasePoolConfig, ScaleOutOptions {
  userPools?: UserPoolsConfig;
  /**
   * A request without `x-forwarded-access-token` runs on the service principal's pool instead
   * of failing with 401 (one warning per `Lakebase`). Default: on only on a developer's machine,
   * `NODE_ENV=development` outside a Databricks App (no `DATABRICKS_APP_NAME` or
   * `DATABRICKS_APP_PORT`); `true` turns it on anywhere, which a deployed app should never do.
   */
  developmentFallback?: boolean;
  /** Environment to read (`PGHOST`, `LAKEBASE_ENDPOINT`, `NODE_ENV`, ...). Default `process.env`. */
  env?: NodeJS.ProcessEnv;
}

export const USER_POOL_DEFAULTS: Readonly<UserPoolSettings & { mode: UserPoolsMode }> =
  Object.freeze({
    max: 3,
    maxConnections: 50,
    maxPools: 1000,
    idleTimeoutMillis: 30_000,
    maxConcurrentVerifications: 32,
    maxQueuedVerifications: 1000,
    mode: 'login' as UserPoolsMode,
  });

function positiveInteger(
  name: Exclude<keyof UserPoolsConfig, 'mode'>,
  value: number | undefined,
  fallback: number,
) {
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
export function resolveUserPools(
  options: UserPoolsConfig = {},
): UserPoolSettings & { mode: UserPoolsMode } {
  const mode = options.mode ?? USER_POOL_DEFAULTS.mode;
  if (!MODES.includes(mode)) {
    throw new ValidationError(
      `Invalid option "userPools.mode": expected one of ${MODES.join(', ')}, got ${JSON.stringify(mode)}`,
      { option: 'userPools.mode' },
    );
  }
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
    maxConcurrentVerifications: positiveInteger(
      'maxConcurrentVerifications',
      options.maxConcurrentVerifications,
      USER_POOL_DEFAULTS.maxConcurrentVerifications,
    ),
    maxQueuedVerifications: positiveInteger(
      'maxQueuedVerifications',
      options.maxQueuedVerifications,
      USER_POOL_DEFAULTS.maxQueuedVerifications,
    ),
  };
  if (settings.max > settings.maxConnections) {
    throw new ValidationError(
      `Invalid option "userPools.max" (${settings.max}): larger than userPools.maxConnections (${settings.maxConnections})`,
      { option: 'userPools.max' },
    );
  }
  return Object.freeze({ ...settings, mode });
}

/**
 * Whether requests without a token fall back to the service principal: only when asked for in
 * code (`developmentFallback: true`), or by default on a developer's machine — `NODE_ENV` is
 * `development` and nothing says this is a Databricks App (`DATABRICKS_APP_NAME`,
 * `DATABRICKS_APP_PORT`). Never by default with `NODE_ENV=production` or inside an app.
 */
export function developmentFallbackEnabled(
  config: LakebaseConfig,
  env: NodeJS.ProcessEnv,
): boolean {
  if (config.developmentFallback !== undefined) return config.developmentFallback === true;
  const insideApp = Boolean(env.DATABRICKS_APP_NAME || env.DATABRICKS_APP_PORT);
  return env.NODE_ENV === 'development' && !insideApp;
}
