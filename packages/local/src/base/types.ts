/** Public types of @lakebase-kit/local, and the debug sink every part logs to. */
import type { LocalBranches } from './branch-handle-types.js';
import type { LocalPooler, LocalReplica, PoolerOptions } from './scale-types.js';

/** A debug line sink; never receives token values. */
export type Log = (line: string) => void;

export interface LocalLakebaseOptions {
  /** Persistent data directory (kept on stop). Default: a temp dir, removed on stop. */
  dataDir?: string;
  /** Lifetime of Postgres tokens minted by the credential API, in seconds (default 3600). */
  tokenTtlSeconds?: number;
  /** User emails created at start (Postgres role + workspace user). */
  users?: string[];
  /**
   * Grant the service principal SET (not INHERIT) on every user role made by `users` /
   * `addUser()`, as a project owner could on Lakebase: what `userPools.mode: 'set-role'` needs
   * (default false: as on a fresh Lakebase, it may not). `lb.grantSetRole()` does it per role.
   */
  grantSetRole?: boolean;
  /** Database name (default `databricks_postgres`). */
  database?: string;
  /** Endpoint path (default `projects/local/branches/main/endpoints/primary`). */
  endpoint?: string;
  /** Port of the token-checking Postgres proxy; 0/undefined picks a free port. */
  proxyPort?: number;
  /** Port of the fake workspace API; 0/undefined picks a free port. */
  apiPort?: number;
  /** Optional debug sink. Never receives token values. */
  log?: Log;
  /**
   * Serve TLS on the proxy, as Lakebase does (default true): a local CA and a server
   * certificate for 127.0.0.1/localhost are made at start; plaintext startups get FATAL 28000.
   * `false`: plaintext only (SSLRequest gets `N`; `env.PGSSLMODE` is `disable`).
   */
  tls?: boolean;
  /**
   * The project owner: a workspace user (default `owner@example.com`) whose Postgres role owns
   * the database, is a member of `databricks_superuser`, has CREATEROLE, and who has CAN_MANAGE
   * on the project (the roles API). Mint its tokens with `userToken(lb.projectOwner)`.
   */
  projectOwner?: string;
  /** Workspace groups: name → member emails (see `addGroup`). */
  groups?: Record<string, string[]>;
  /** Project permissions of other identities (the owner always has CAN_MANAGE). */
  projectPermissions?: Record<string, ProjectPermission>;
  /**
   * Postgres' `max_connections` on every instance (default 200). A Lakebase compute of 0.5 CU
   * allows 104 (1 CU 209, 2 CU 419): set 104 to meet that limit locally.
   */
  maxConnections?: number;
  /**
   * Read replicas of the main endpoint (default 0): each a real Postgres hot standby started
   * from a base backup of the primary and streaming from it, behind a door (and endpoint,
   * `read-replica-<n>`) of its own. See `lb.replicas`.
   */
  replicas?: number;
  /**
   * A pooled host: Debian's PgBouncer in transaction mode between a door of its own and the
   * primary (and each replica). `true` for the defaults. Without a `pgbouncer` binary the start
   * fails at once with `PoolerUnavailableError`. See `lb.pooler`.
   */
  pooler?: boolean | PoolerOptions;
  /**
   * Keep the main branch's history for this many seconds (as a project's
   * `history_retention_duration`): its WAL is archived locally and a base backup taken at
   * start, so branches may start at an earlier time or LSN (`source_branch_time`,
   * `source_branch_lsn`) from the start on. Default: none kept; such branches are refused with
   * `BranchHistoryError`.
   */
  historyRetentionSeconds?: number;
}

/** Permission on the Lakebase project: CAN_USE reads roles, CAN_MANAGE changes them. */
export type ProjectPermission = 'CAN_USE' | 'CAN_MANAGE';

/** Environment variables an application needs to reach this local Lakebase. */
export interface LocalLakebaseEnv {
  DATABRICKS_HOST: string;
  DATABRICKS_CLIENT_ID: string;
  DATABRICKS_CLIENT_SECRET: string;
  PGHOST: string;
  PGPORT: string;
  PGDATABASE: string;
  PGUSER: string;
  /** `require` (with `PGSSLROOTCERT`, the local CA), or `disable` with `tls: false`. */
  PGSSLMODE: string;
  LAKEBASE_ENDPOINT: string;
  /**
   * Unless `tls: false`, `PGSSLROOTCERT`: the file holding the local CA certificate (PEM).
   * Read it as `env.PGSSLROOTCERT` (`string | undefined`); it is not declared as an optional
   * property so that `env` stays assignable to `Record<string, string>`.
   */
  [key: string]: string;
}

export interface LocalTls {
  /** Path of the CA certificate file (also `env.PGSSLROOTCERT`), inside the instance's dir. */
  caFile: string;
  /** The CA certificate, PEM. */
  caPem: string;
}

export interface ConnectionStats {
  open: number;
  peak: number;
  total: number;
}

export interface LocalStats {
  /** Credential API calls per authenticated identity (including failed/faulted ones). */
  credentialCalls: Record<string, number>;
  credentialCallsTotal: number;
  /** Password messages checked by the proxy. */
  authAttempts: number;
  /** Password messages rejected by the proxy (28P01). */
  authFailures: number;
  /**
   * Proxied client connections per Postgres role, at the main endpoint's doors (direct and, with
   * a pooler, pooled). Server connections behind the pooler: `lb.pooler.pools()`.
   */
  connections: Record<string, ConnectionStats>;
  openConnections: number;
  peakConnections: number;
  /**
   * Connections that passed the token check and wait for Postgres: held by `suspend()`
   * (`delay` mode) until `wake()`, or by `restartPostgres()` until it is back.
   */
  heldConnections: number;
  /** Credential answers being delayed by `credentialLatency()` right now. */
  heldCredentialAnswers: number;
}

export interface PgCredential {
  token: string;
  /** RFC 3339 UTC. */
  expire_time: string;
}

export interface CredentialFault {
  /** HTTP status; 0 destroys the socket (a network error). Default 500. */
  status?: number;
  /** Databricks `error_code`. Default derived from the status. */
  errorCode?: string;
  message?: string;
  /** How many calls fail; default: all until cleared with `null`. */
  times?: number;
}

export type MalformedMode = 'missing-token' | 'bad-expiry' | 'not-json';

export interface SuspendOptions {
  /** `delay` (default): new connections wait until `wake()`. `refuse`: FATAL 57P03. */
  mode?: 'delay' | 'refuse';
}

export interface LocalFaults {
  credentials(fault: CredentialFault | null): void;
  /** Delays every credential answer by `ms`; 0 clears it and releases answers being delayed. */
  credentialLatency(ms: number): void;
  credentialMalformed(mode: MalformedMode | null): void;
  /** Every Postgres token minted so far for `identity` stops being accepted. */
  revoke(identity: string): void;
  setTokenTtl(seconds: number): void;
  /**
   * Scale to zero: terminate open proxied connections with 57P01. The state switches at once;
   * the promise resolves when those connections are closed.
   */
  suspend(options?: SuspendOptions): Promise<void>;
  wake(): void;
  restartPostgres(): Promise<void>;
  /**
   * Replication lag on every read replica: `true` pauses WAL replay (`pg_wal_replay_pause()`:
   * WAL still arrives, rows written on the primary do not show), `false` resumes it.
   */
  replicaLag(on: boolean): Promise<void>;
  /** Clears all of the above (and restores the token TTL; replays resume, unawaited). */
  reset(): void;
}

export interface ServicePrincipal {
  /** A UUID; also the SP's Postgres role. */
  clientId: string;
  clientSecret: string;
  /** A long-lived PAT-like bearer token for the SP (`DATABRICKS_TOKEN` style). */
  pat: string;
}

export interface LocalLakebase {
  readonly env: LocalLakebaseEnv;
  readonly endpoint: string;
  /** `projects/<p>/branches/<b>`: the parent of the roles API. */
  readonly branch: string;
  readonly database: string;
  /** The project owner's email (see `LocalLakebaseOptions.projectOwner`). */
  readonly projectOwner: string;
  readonly servicePrincipal: ServicePrincipal;
  /** `http://127.0.0.1:<apiPort>` */
  readonly host: string;
  /** The directory holding `pgdata/` (a temp dir unless `dataDir` was given). */
  readonly dataDir: string;
  /** The local CA that signed the proxy's certificate (undefined with `tls: false`). */
  readonly tls?: LocalTls;
  readonly proxyPort: number;
  readonly apiPort: number;
  /**
   * The real Postgres listens on no TCP port: its only door is a Unix socket in a private
   * directory, for the proxy and `sql()`. This is the number in that socket's name
   * (`.s.PGSQL.<postgresPort>`, always 5432); nothing answers on it over TCP.
   */
  readonly postgresPort: number;
  addUser(email: string): Promise<void>;
  /**
   * Grants the service principal (or `member`, e.g. a password role) SET (not INHERIT) on
   * `role` (with `grant: false`, revokes it), as a project owner could; for `userPools.mode:
   * 'set-role'`.
   */
  grantSetRole(role: string, grant?: boolean, member?: string): Promise<void>;
  /**
   * Creates or replaces a workspace group. Its members log in to the group's Postgres role
   * (made with `databricks_create_role(name, 'GROUP')` or the roles API) with their own tokens.
   */
  addGroup(name: string, members: string[]): void;
  /**
   * `env` for a workspace user instead of the SP: `DATABRICKS_TOKEN` (a new access token),
   * `PGUSER` the email, no client id/secret.
   */
  envFor(email: string, options?: { ttlSeconds?: number }): Record<string, string>;
  userToken(email: string, options?: { ttlSeconds?: number }): string;
  userHeaders(email: string): Promise<Record<string, string>>;
  mintPgToken(identity: string, options?: { ttlSeconds?: number }): PgCredential;
  // biome-ignore lint/suspicious/noExplicitAny: rows are whatever the query returns
  sql<R = any>(text: string, values?: unknown[]): Promise<R[]>;
  readonly faults: LocalFaults;
  /** The read replicas (`replicas` option), in order; empty without. */
  readonly replicas: readonly LocalReplica[];
  /** The pooled host (`pooler` option); undefined without. */
  readonly pooler: LocalPooler | undefined;
  /** Branches from code: create, get, list, expire (the branches API does the same over HTTP). */
  readonly branches: LocalBranches;
  /**
   * A native Postgres password role (Lakebase's `PG_PASSWORD_SCRAM_SHA_256`): `LOGIN`,
   * `CONNECT` on the database, administered by the project owner. Resolves its new password.
   * It logs in at every door with that password, and is the only kind of login a pooled host
   * takes when OAuth is off there. Grant it SET on users' roles with `grantSetRole(role, true,
   * name)`.
   */
  createPasswordRole(name: string): Promise<string>;
  /**
   * The local port of a host the endpoints API names (API hosts carry no port: on Lakebase it
   * is always 5432; locally each host's door has a port of its own). Undefined when unknown.
   */
  portOf(host: string): number | undefined;
  /** The primary's current WAL insert position (`pg_current_wal_insert_lsn()`), for `waitForReplay`. */
  currentLsn(): Promise<string>;
  stats(): LocalStats;
  resetStats(): void;
  stop(): Promise<void>;
}
