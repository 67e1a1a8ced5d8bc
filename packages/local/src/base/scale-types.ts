/** Public types of the local Lakebase's scale-out engines: read replicas and the pooler. */

/** `startLocalLakebase({ pooler })`. */
export interface PoolerOptions {
  /**
   * Whether the pooled hosts accept OAuth token logins (default true). `false`: only native
   * Postgres password roles (`lb.createPasswordRole()`) log in there. The Lakebase docs say
   * both; switch at run time with `lb.pooler.acceptOAuth()`.
   */
  oauth?: boolean;
  /** PgBouncer's server connections per database and user (`default_pool_size`, default 5). */
  poolSize?: number;
  /**
   * PgBouncer's server connections per database across all users (`max_db_connections`; default
   * unlimited). At the limit PgBouncer closes an idle server connection of another user's pool,
   * and clients wait (up to 2 minutes) rather than fail.
   */
  maxDbConnections?: number;
  /**
   * Apps on `lb.env` use the pooled host: it also sets `LAKEBASE_POOLER=true` (default false).
   * `LAKEBASE_LOCAL_POOLER=1` in the environment starts every local Lakebase this way (the kit's
   * suites run pooled with it).
   */
  appsUsePooler?: boolean;
}

/** One row of PgBouncer's `SHOW POOLS` (numbers as numbers). */
export interface PoolerPool {
  database: string;
  user: string;
  /** Client connections linked to a server connection, or idle in a transaction-less state. */
  clientsActive: number;
  /** Client connections waiting for a server connection. */
  clientsWaiting: number;
  /** Server connections linked to a client. */
  serversActive: number;
  /** Server connections idle and ready. */
  serversIdle: number;
  /** Server connections idle more than `server_check_delay`. */
  serversUsed: number;
  /** Server connections logging in. */
  serversLogin: number;
  poolMode: string;
}

/** Environment variables for one host (as `lb.env`, with that host's PGHOST and PGPORT). */
export type HostEnv = Record<string, string>;

/** `lb.pooler`: the main endpoint's pooled host, a real PgBouncer in transaction mode. */
export interface LocalPooler {
  /** A loopback address of its own (the endpoint's `read_write_pooled_host`). */
  readonly host: string;
  readonly port: number;
  /** `lb.env` with `PGHOST`/`PGPORT` of the pooled host. */
  readonly env: HostEnv;
  /** Whether the pooled hosts accept OAuth tokens now. */
  readonly acceptsOAuth: boolean;
  /** Switches OAuth token logins on the pooled hosts on or off (password roles always work). */
  acceptOAuth(on: boolean): void;
  /** PgBouncer's `SHOW POOLS` for the primary, its admin console's own pool left out. */
  pools(): Promise<PoolerPool[]>;
}

/** `lb.replicas[i]`: a read replica, a hot standby streaming from the primary. */
export interface LocalReplica {
  /** `projects/<p>/branches/<b>/endpoints/read-replica-<n>` (ENDPOINT_TYPE_READ_ONLY). */
  readonly endpoint: string;
  /** Its host (a loopback address of its own: `read_only_host`) and proxy port. */
  readonly host: string;
  readonly port: number;
  /** `lb.env` with this replica's host, port and endpoint (mint tokens for it). */
  readonly env: HostEnv;
  /** Its pooled host (`read_only_pooled_host`), with `pooler`. */
  readonly pooler?: { readonly host: string; readonly port: number; readonly env: HostEnv };
  // biome-ignore lint/suspicious/noExplicitAny: rows are whatever the query returns
  sql<R = any>(text: string, values?: unknown[]): Promise<R[]>;
  /**
   * Resolves once the replica has replayed the primary's WAL up to `lsn` (default: the
   * primary's current position). Rejects at once while replay is paused
   * (`faults.replicaLag(true)`), and after `timeoutMs` (default 10 s).
   */
  waitForReplay(lsn?: string, options?: { timeoutMs?: number }): Promise<void>;
  /** Resolves once the replica has received (not necessarily replayed) WAL up to `lsn`. */
  waitForReceive(lsn?: string, options?: { timeoutMs?: number }): Promise<void>;
}
