/**
 * Read-your-writes on a read-only endpoint. `ReplicaGate` runs when a read pool hands out a
 * connection: if this app wrote since that connection last showed it had caught up
 * (`WriteLsn`), it asks the replica how far it has replayed (`pg_last_wal_replay_lsn()`) and
 * waits, polling with a growing pause, up to `maxWaitMs`; past that the checkout fails with a
 * `ReplicaBehindError`, and the read entry points run the read on the primary instead
 * (`withPrimaryFallback`). No write since: no round trip.
 *
 * The guarantee: a read through this `Lakebase` that starts after a write through it was
 * answered sees that write (or newer), on the replica or the primary. Writes of other processes
 * are not waited for.
 */
import type pg from 'pg';
import type { Clock } from '../base/clock.js';
import { ReplicaBehindError } from '../base/errors.js';
import { formatLsn, parseLsn, type WriteLsn } from './write-lsn.js';

/** How far the server has replayed; NULL on a primary (which has everything). */
export const REPLAY_LSN_SQL = 'SELECT pg_catalog.pg_last_wal_replay_lsn()::text AS lsn';
const MAX_PAUSE_MS = 20;

export interface ReplicaStats {
  /** Checkouts that asked the replica how far it had replayed. */
  checks: number;
  /** Checkouts that had to wait for the replica (and got it). */
  waited: number;
  /** Reads that ran on the primary because the replica stayed behind. */
  primaryFallbacks: number;
}

export class ReplicaGate {
  readonly #writes: WriteLsn;
  readonly #clock: Clock;
  readonly #maxWaitMs: number;
  /** Per connection: the position it was last seen to have replayed. */
  readonly #replayed = new WeakMap<object, bigint>();
  readonly #stats: ReplicaStats = { checks: 0, waited: 0, primaryFallbacks: 0 };

  constructor(writes: WriteLsn, clock: Clock, maxWaitMs: number) {
    this.#writes = writes;
    this.#clock = clock;
    this.#maxWaitMs = maxWaitMs;
  }

  /** Before `client` is handed out: undefined when it is known to be caught up (no round trip). */
  prepare(client: pg.PoolClient): Promise<void> | undefined {
    const target = this.#writes.latest;
    if (target === undefined) return undefined;
    const known = this.#replayed.get(client);
    if (known !== undefined && known >= target) return undefined;
    return this.#wait(client, target);
  }

  /** A read that ran on the primary instead (counted here, for `stats()`). */
  fellBack(): void {
    this.#stats.primaryFallbacks++;
  }

  stats(): ReplicaStats {
    return { ...this.#stats };
  }

  async #wait(client: pg.PoolClient, target: bigint): Promise<void> {
    this.#stats.checks++;
    const deadline = this.#clock.now() + this.#maxWaitMs;
    let pause = 1;
    let waited = false;
    for (;;) {
      const { rows } = await client.query<{ lsn: string | null }>(REPLAY_LSN_SQL);
      const lsn = rows[0]?.lsn;
      // NULL: not in recovery (a primary, or a promoted replica): it has every write
      const replayed = lsn === null || lsn === undefined ? target : parseLsn(lsn);
      if (replayed !== undefined && replayed >= target) {
        this.#replayed.set(client, replayed);
        if (waited) this.#stats.waited++;
        return;
      }
      if (this.#clock.now() + pause > deadline) {
        throw new ReplicaBehindError(
          `The read-only endpoint had replayed up to ${lsn ?? 'an unknown position'}, not this app's ` +
            `last write at ${formatLsn(target)}, after ${this.#maxWaitMs} ms (read.maxWaitMs)`,
        );
      }
      waited = true;
      await new Promise<void>((resolve) => {
        const handle = this.#clock.setTimeout(resolve, pause);
        (handle as { unref?: () => unknown } | undefined)?.unref?.();
      });
      pause = Math.min(pause * 2, MAX_PAUSE_MS);
    }
  }
}

type QueryCallback = (error: Error | undefined, result: unknown) => void;

/**
 * pg's overloaded `query(config, values?, callback?)` on a read pool, run on the primary when
 * the replica stays behind. Submittables (cursors, streams) are not retried: they get the error.
 */
export function withPrimaryFallback(
  replica: (config: unknown, values: unknown) => Promise<unknown>,
  primary: { query(config: never, values?: never): Promise<unknown> },
  gate: ReplicaGate,
  config: unknown,
  values: unknown,
  callback: unknown,
): Promise<unknown> | undefined {
  const done = (typeof values === 'function' ? values : callback) as QueryCallback | undefined;
  const params = typeof values === 'function' ? undefined : values;
  const result = replica(config, params).catch((error: unknown) => {
    if (!(error instanceof ReplicaBehindError)) throw error;
    gate.fellBack();
    return primary.query(config as never, params as never);
  });
  if (!done) return result;
  result.then(
    (value) => done(undefined, value),
    (error: Error) => done(error, undefined),
  );
  return undefined;
}
