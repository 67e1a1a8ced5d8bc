/**
 * The replication-lag switch of every read replica: on pauses WAL replay
 * (`pg_wal_replay_pause()`; WAL still arrives), off resumes it. Waits on replay settle the
 * switch first, so a switch thrown without awaiting (`faults.reset()`) never races them.
 */
import type { Log } from '../../base/types.js';
import { setReplayPaused } from '../../postgres/replication.js';
import type { Instance } from '../compute/instance.js';

export class ReplicaLag {
  readonly #replicas: () => Instance[];
  readonly #log: Log;
  #on = false;
  #settled: Promise<void> = Promise.resolve();

  constructor(replicas: () => Instance[], log: Log) {
    this.#replicas = replicas;
    this.#log = log;
  }

  /** Whether lag is switched on. */
  get on(): boolean {
    return this.#on;
  }

  set(on: boolean): Promise<void> {
    this.#on = on;
    const applied = Promise.all(
      this.#replicas().map((replica) => setReplayPaused(replica.admin.sql, on)),
    ).then(() => this.#log(`faults: replica lag ${on ? 'on (replay paused)' : 'off'}`));
    this.#settled = applied.catch(() => undefined);
    return applied;
  }

  /** Resolves once the last switch has been applied (or has failed). */
  settled(): Promise<void> {
    return this.#settled;
  }
}
