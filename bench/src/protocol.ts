/**
 * What the orchestrator (main.ts, which owns the local Lakebase) sends to a workload child
 * (child.ts) over IPC, and what the child answers. Secrets (tokens) travel only over IPC,
 * never in argv, env or logs.
 */

export type Contender = 'raw' | 'official' | 'ours';
/** P1 also runs ours with `telemetry: false`, to show what the telemetry itself costs. */
export type P1Contender = Contender | 'oursNoTelemetry';
export const P1_CONTENDERS: P1Contender[] = ['raw', 'official', 'ours', 'oursNoTelemetry'];

/**
 * P1: one long-lived child per contender (own heap, own GC). The orchestrator sends
 * `{ type: 'block', size }` to the children in turn (rotating order), so load from outside
 * the benchmark lands on every contender alike; `{ type: 'stop' }` ends the child.
 */
export interface OverheadTask {
  kind: 'overhead';
  contender: P1Contender;
  /** For `raw`: a Postgres token minted by the local Lakebase for the SP. */
  password?: string;
  workers: number;
  /** Queries per workload before the first block (JIT, token, all connections open). */
  warmup: number;
}

/** Orchestrator → a waiting child. */
export type Command =
  | { type: 'block'; size: number }
  | { type: 'cell'; cell: ScaleOutCell }
  | { type: 'go' }
  | { type: 'stop' };

export interface Timing {
  wallMs: number;
  /** CPU time (user + system) of the child process, in ms. */
  cpuMs: number;
  errors: number;
}

/** A child's reply to `block`: the sequential and the concurrent-mix workloads. */
export interface BlockResult {
  sequential: Timing;
  concurrent: Timing;
}

export interface StormTask {
  kind: 'storm';
  contender: Exclude<Contender, 'raw'>;
  connections: number;
}

export interface RolloverTask {
  kind: 'rollover';
  contender: Exclude<Contender, 'raw'>;
  durationMs: number;
  workers: number;
}

export interface UsersTask {
  kind: 'users';
  contender: 'ours' | 'official';
  /** One forwarded-headers object per user (`x-forwarded-access-token`, `-email`, …). */
  users: Record<string, string>[];
  queriesPerUser: number;
  /** Users running at once. */
  concurrency: number;
  /** Ours: `userPools.maxConnections`. */
  budget: number;
}

export interface ServerTask {
  kind: 'server';
  /** `userPools.mode` of the server's Lakebase (default `login`). */
  mode?: 'login' | 'set-role' | 'auto';
  /** `userPools.maxConnections` (default 50). */
  budget?: number;
}

/** What the server's `GET /stats` answers (P6). */
export interface ServerStats {
  /** `/me` answers whose `current_user` was not the requesting user. */
  mismatches: number;
  userPools: number;
  spTotalCount: number;
}

/**
 * P7: raw pg, the official pool and ours in one child, interleaved in blocks of sequential
 * `SELECT 1`. `sdk: false` runs the child with no OTel SDK registered at all.
 */
export interface InProcessTask {
  kind: 'inprocess';
  /** For the raw `pg.Pool`: a Postgres token minted by the local Lakebase for the SP. */
  password: string;
  blocks: number;
  blockSize: number;
  /** Queries per contender before the first block. */
  warmup: number;
  sdk: boolean;
}

/**
 * P8: one app process of several. It keeps its users' forwarded headers for the whole row; per
 * cell the orchestrator sends `cell` (the child makes a `Lakebase` with that cell's settings,
 * warms it with one request of `warmup`'s user and replies), then `go` to all children at once
 * (the child runs `lanes` request loops over its users for `seconds`, then replies with a
 * `ScaleOutCellResult`); `stop` ends the child.
 */
export interface ScaleOutTask {
  kind: 'scaleout';
  /** One forwarded-headers object per user of this process. */
  users: Record<string, string>[];
  /** A user of this process outside `users`, for the warm-up request. */
  warmup: Record<string, string>;
  /** Requests in flight at once in this process. */
  lanes: number;
  seconds: number;
  /** A request not answered in this long counts as failed. */
  requestTimeoutMs: number;
}

/** One P8 cell: how the app processes reach Postgres. */
export interface ScaleOutCell {
  mode: 'login' | 'set-role';
  /** `pooler: true` (Lakebase's pooled host, PgBouncer) or the direct host. */
  pooled: boolean;
  /** `userPools.maxConnections` of each process (login mode's budget). */
  budget: number;
}

export interface ScaleOutCellResult {
  requests: number;
  failed: number;
  /** Answers whose `current_user` was not the requesting user (counted in `failed` too). */
  mismatches: number;
  /** Requests that got no answer within `requestTimeoutMs` (counted in `failed` too). */
  timedOut: number;
  /** Distinct error messages (first few), token-free. */
  errorSamples: string[];
  /** Distinct users that got at least one answer. */
  usersServed: number;
  wallMs: number;
}

/**
 * P9: one app process, `lanes` loops of 1 write + 1 read of that row + `plainReads` reads of
 * seeded rows (half the lanes as the service principal, half as a user each), for `seconds`.
 * `read` configures `createLakebase({ read })`; without it reads go to the primary.
 */
export interface ReadMixTask {
  kind: 'readmix';
  read?: {
    endpoint: string;
    host: string;
    consistency: 'read-your-writes' | 'eventual';
    maxWaitMs: number;
  };
  /** Forwarded headers, one per user lane. */
  users: Record<string, string>[];
  /** Service-principal lanes (user lanes: one per entry of `users`). */
  spLanes: number;
  plainReads: number;
  /** Ids 1..seededRows exist in the table before the run. */
  seededRows: number;
  seconds: number;
}

export interface ReadMixResult {
  seconds: number;
  loops: number;
  writes: number;
  /** Read-backs of one's own write plus plain reads, all answered. */
  reads: number;
  readBacks: number;
  /** Read-backs that did not see the row just written (missing, or another owner/body). */
  stale: number;
  errors: number;
  errorSamples: string[];
  /** `lakebase.stats().read` at the end (undefined without a read-only endpoint). */
  kit?: { checks: number; waited: number; primaryFallbacks: number; writes: number };
}

export type Task =
  | OverheadTask
  | StormTask
  | RolloverTask
  | UsersTask
  | ServerTask
  | InProcessTask
  | ScaleOutTask
  | ReadMixTask;

/** The P1 child's final result, after `stop`. */
export interface OverheadResult {
  /** Spans the OTel SDK exported during the blocks, per instrumentation scope. */
  spans: Record<string, number>;
}

export interface StormResult {
  wallMs: number;
  errors: number;
}

export interface RolloverResult {
  connects: number;
  errors: number;
  /** Connect latencies (ms) of every successful `pool.connect()`. */
  latenciesMs: number[];
}

export interface UsersResult {
  wallMs: number;
  queries: number;
  errors: number;
  /** Distinct error messages (first few), token-free. */
  errorSamples: string[];
  /** Queries whose `current_user` was not the requesting user. */
  wrongIdentity: number;
}

export interface InProcessResult {
  /** Wall time (ms) of each contender in each block. */
  blocks: Array<{ raw: number; official: number; ours: number }>;
  /** Spans the OTel SDK exported, per instrumentation scope (empty without an SDK). */
  spans: Record<string, number>;
}

export interface ServerReady {
  port: number;
}

export type ChildMessage =
  | { type: 'result'; result: unknown }
  | { type: 'reply'; data: unknown }
  | { type: 'ready'; port: number }
  | { type: 'error'; message: string };
