/** The facade's public shapes: what `createLakebase()` returns. */
import type pg from 'pg';
import type { DoctorOptions, DoctorReport } from './admin/doctor.js';
import type { OrmConfig, RequestLike, TokenCacheStats } from './base/types.js';
import type { UserPoolStats, UserScope } from './obo/types.js';
import type { HostRouteStats } from './pool/host-route.js';
import type { ReplicaStats } from './pool/replica-gate.js';

export interface PoolCounts {
  totalCount: number;
  idleCount: number;
  waitingCount: number;
}

export interface LakebaseStats {
  sp: PoolCounts & { token: TokenCacheStats };
  users: UserPoolStats;
  /** Pooled mode: where the SP's and the users' connections go now (a fallback says why). */
  pooler?: { sp: HostRouteStats; users: HostRouteStats; direct: PoolCounts };
  /** With a read-only endpoint: its SP pool, its users and the read-your-writes counters. */
  read?: PoolCounts &
    ReplicaStats & {
      /** Writes whose WAL position was recorded. */
      writes: number;
      users: UserPoolStats;
    };
}

/**
 * The service principal on the read-only endpoint (`read` option; without one, the primary):
 * reads there see this app's own writes (read-your-writes) unless `read.consistency` is
 * `eventual`.
 */
export interface LakebaseRead {
  /** A real `pg.Pool` on the read-only endpoint; its `query()` runs on the primary when the replica stays behind. */
  readonly pool: pg.Pool;
  // biome-ignore lint/suspicious/noExplicitAny: the default row type of pg
  query<R extends pg.QueryResultRow = any>(
    text: string | pg.QueryConfig,
    values?: unknown[],
  ): Promise<pg.QueryResult<R>>;
  /** True when reads go to a read-only endpoint (false: to the primary). */
  readonly replica: boolean;
  /**
   * Records the primary's WAL position now: call it after a write the kit cannot see as one (a
   * `SELECT` of a function that writes), so the next reads wait for it.
   */
  noteWrite(): Promise<void>;
}

/** The facade returned by `createLakebase()`: one SP pool and the on-behalf-of user pools. */
export interface Lakebase {
  /** The service principal's pool: a real `pg.Pool`. */
  readonly pool: pg.Pool;
  // biome-ignore lint/suspicious/noExplicitAny: the default row type of pg
  query<R extends pg.QueryResultRow = any>(
    text: string | pg.QueryConfig,
    values?: unknown[],
  ): Promise<pg.QueryResult<R>>;
  getPgConfig(): pg.PoolConfig;
  getOrmConfig(): OrmConfig;
  /** Synchronous and I/O-free for a warm user; see `UserScope`. */
  asUser(req: RequestLike): UserScope;
  /** The service principal on the read-only endpoint (see `LakebaseRead`). */
  readonly read: LakebaseRead;
  /**
   * The SP's pool on the direct host: sessions (`LISTEN`, session advisory locks, temp tables,
   * migrations) in pooled mode. Without the pooler it is `pool`.
   */
  readonly direct: pg.Pool;
  /**
   * Resolves once the configured hosts are known to belong to `LAKEBASE_ENDPOINT` (the
   * endpoints API, asked once); rejects with the `ConfigurationError` of a stale `PGHOST` when
   * `hostCheck` is `error`. Every first connection waits for the same check.
   */
  ready(): Promise<void>;
  /**
   * Closes the SP pool and every user pool; idempotent. Accepted work finishes first, work
   * that arrives later gets a `ClosedError`, and nothing of ours keeps the process alive.
   */
  close(): Promise<void>;
  readonly closed: boolean;
  stats(): LakebaseStats;
  /**
   * `runDoctor`'s checks as this app, with the identities `asUser(req)` has seen (plus
   * `options.identities`); a report, never a throw.
   */
  doctor(options?: LakebaseDoctorOptions): Promise<DoctorReport>;
}

/** Options of `lakebase.doctor()`. */
export type LakebaseDoctorOptions = Omit<
  DoctorOptions,
  'db' | 'config' | 'env' | 'workspaceClient'
>;
export type { DoctorReport };
