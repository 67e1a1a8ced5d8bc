/**
 * What the orchestrator (main.ts, which owns the local Lakebase) sends to a workload child
 * (child.ts) over IPC, and what the child answers. Secrets (tokens) travel only over IPC,
 * never in argv, env or logs.
 */

export type Contender = 'raw' | 'official' | 'ours';

/**
 * P1: all three pools live in one child and take turns in small blocks (the order rotates
 * every block), so load from outside hits every contender alike.
 */
export interface OverheadTask {
  kind: 'overhead';
  /** For `raw`: a Postgres token minted by the local Lakebase for the SP. */
  password: string;
  blocks: number;
  /** Queries per block per workload (sequential, and the concurrent mix). */
  blockSize: number;
  workers: number;
  /** Queries per contender per workload before the first block. */
  warmup: number;
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
}

export type Task = OverheadTask | StormTask | RolloverTask | UsersTask | ServerTask;

export interface OverheadResult {
  /** Per contender, the wall time of each block, in block order. */
  sequentialMs: Record<Contender, number[]>;
  concurrentMs: Record<Contender, number[]>;
  /** Per contender, the CPU time (user + system) the child spent in each block. */
  sequentialCpuMs: Record<Contender, number[]>;
  concurrentCpuMs: Record<Contender, number[]>;
  /** The contender order of each block. */
  order: Contender[][];
  errors: Record<Contender, number>;
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

export interface ServerReady {
  port: number;
}

export type ChildMessage =
  | { type: 'result'; result: unknown }
  | { type: 'ready'; port: number }
  | { type: 'error'; message: string };
