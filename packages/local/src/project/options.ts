/** `LocalLakebaseOptions` with every default filled in. */
import type { LocalLakebaseOptions, Log } from '../base/types.js';

export const DEFAULT_DATABASE = 'databricks_postgres';
export const DEFAULT_ENDPOINT = 'projects/local/branches/main/endpoints/primary';
export const DEFAULT_PROJECT_OWNER = 'owner@example.com';
export const DEFAULT_TOKEN_TTL_SECONDS = 3600;
export const DEFAULT_POOL_SIZE = 5;
const MAX_REPLICAS = 8;

export interface Settings {
  database: string;
  endpoint: string;
  /** `projects/<p>/branches/<b>`: the endpoint's branch. */
  branch: string;
  projectOwner: string;
  tokenTtlSeconds: number;
  tls: boolean;
  grantSetRole: boolean;
  /** Read replicas of the main endpoint. */
  replicas: number;
  /** The pooler, if any. */
  pooler:
    | { oauth: boolean; poolSize: number; maxDbConnections: number; appsUsePooler: boolean }
    | undefined;
  /** Postgres' `max_connections`. */
  maxConnections: number;
  /** How far back branches may start (seconds); undefined: no history kept. */
  historyRetentionSeconds: number | undefined;
  log: Log;
}

function replicasOf(value: number | undefined): number {
  const replicas = value ?? 0;
  if (!Number.isInteger(replicas) || replicas < 0 || replicas > MAX_REPLICAS) {
    throw new TypeError(`replicas must be an integer from 0 to ${MAX_REPLICAS}, got ${replicas}`);
  }
  return replicas;
}

function maxConnectionsOf(value: number | undefined): number {
  const max = value ?? 200;
  if (!Number.isInteger(max) || max < 10) {
    throw new TypeError(`maxConnections must be an integer of at least 10, got ${max}`);
  }
  return max;
}

function retentionOf(value: number | undefined): number | undefined {
  if (value === undefined || value === 0) return undefined;
  if (!Number.isFinite(value) || value < 0) {
    throw new TypeError(`historyRetentionSeconds must be a positive number, got ${value}`);
  }
  return value;
}

/** `LAKEBASE_LOCAL_POOLER=1`: every local Lakebase without a `pooler` option gets one, used by `lb.env`. */
export const POOLED_WORLD_ENV = 'LAKEBASE_LOCAL_POOLER';

function poolerOf(value: LocalLakebaseOptions['pooler']): Settings['pooler'] {
  if (value === undefined && process.env[POOLED_WORLD_ENV] === '1') {
    value = { appsUsePooler: true };
  }
  if (!value) return undefined;
  const options = value === true ? {} : value;
  const poolSize = options.poolSize ?? DEFAULT_POOL_SIZE;
  if (!Number.isInteger(poolSize) || poolSize < 1) {
    throw new TypeError(`pooler.poolSize must be a positive integer, got ${poolSize}`);
  }
  const maxDbConnections = options.maxDbConnections ?? 0;
  if (!Number.isInteger(maxDbConnections) || maxDbConnections < 0) {
    throw new TypeError(
      `pooler.maxDbConnections must be a non-negative integer, got ${maxDbConnections}`,
    );
  }
  return {
    oauth: options.oauth !== false,
    poolSize,
    maxDbConnections,
    appsUsePooler: options.appsUsePooler === true,
  };
}

export function settingsOf(options: LocalLakebaseOptions): Settings {
  const endpoint = options.endpoint ?? DEFAULT_ENDPOINT;
  return {
    database: options.database ?? DEFAULT_DATABASE,
    endpoint,
    branch: endpoint.split('/endpoints/')[0]!,
    projectOwner: options.projectOwner ?? DEFAULT_PROJECT_OWNER,
    tokenTtlSeconds: options.tokenTtlSeconds ?? DEFAULT_TOKEN_TTL_SECONDS,
    tls: options.tls !== false,
    grantSetRole: options.grantSetRole === true,
    replicas: replicasOf(options.replicas),
    pooler: poolerOf(options.pooler),
    maxConnections: maxConnectionsOf(options.maxConnections),
    historyRetentionSeconds: retentionOf(options.historyRetentionSeconds),
    log: options.log ?? (() => undefined),
  };
}
