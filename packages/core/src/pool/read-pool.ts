/**
 * `ReadPool`: a `LakebasePool` on a read-only endpoint. Its checkouts wait for the replica to
 * have this app's last write (the runtime's `ReplicaGate`); its `query()` — what ORMs call for
 * a plain read (Drizzle's `withReplicas`, Prisma's read replicas) — runs on the primary when
 * the replica stays behind. A checked-out client cannot move, so `connect()` gives the
 * `ReplicaBehindError` instead.
 */
import type pg from 'pg';
import { LakebasePool, type LakebasePoolRuntime } from './lakebase-pool.js';
import { type ReplicaGate, withPrimaryFallback } from './replica-gate.js';

export class ReadPool extends LakebasePool {
  readonly #primary: pg.Pool;
  readonly #gate: ReplicaGate;

  constructor(
    config: pg.PoolConfig,
    runtime: LakebasePoolRuntime & { replica: ReplicaGate },
    primary: pg.Pool,
  ) {
    super(config, runtime);
    this.#primary = primary;
    this.#gate = runtime.replica;
  }

  // biome-ignore lint/suspicious/noExplicitAny: pg's overloaded query(config, values?, callback?)
  override query(config: any, values?: any, callback?: any): any {
    if (typeof config?.submit === 'function') return super.query(config, values, callback);
    return withPrimaryFallback(
      (c, v) => super.query(c as string, v as unknown[]),
      this.#primary,
      this.#gate,
      config,
      values,
      callback,
    );
  }
}
