/** The facade's public shapes: what `createLakebase()` returns. */
import type pg from 'pg';
import type { DoctorOptions, DoctorReport } from './admin/doctor.js';
import type { OrmConfig, RequestLike, TokenCacheStats } from './base/types.js';
import type { UserPoolStats, UserScope } from './obo/types.js';

export interface LakebaseStats {
  sp: {
    totalCount: number;
    idleCount: number;
    waitingCount: number;
    token: TokenCacheStats;
  };
  users: UserPoolStats;
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
