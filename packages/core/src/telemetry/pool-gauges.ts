/**
 * The connection gauges of one Telemetry's live pools, per pool name: one batch callback per
 * meter provider sums them (`lakebase.pool.connections.*` and/or `db.client.connection.*`). A
 * pool name whose pools all ended reports 0 instead of a stale last value; after `close()` the
 * zeros are reported once more, then the callback goes.
 */
import type { BatchObservableCallback, BatchObservableResult } from '@opentelemetry/api';
import type pg from 'pg';
import type { Instruments } from './instruments.js';

interface Totals {
  idle: number;
  used: number;
  max: number;
  pending: number;
}

export class PoolGauges {
  /** Live pools observed, with their names. */
  readonly #pools = new Map<pg.Pool, string>();
  readonly #names = new Set<string>();
  readonly #callbacks = new WeakMap<Instruments, BatchObservableCallback>();
  #closed = false;

  /** Observes `pool` under `name` on `instruments`' meter until the returned function is called. */
  register(pool: pg.Pool, name: string, instruments: Instruments): () => void {
    this.#pools.set(pool, name);
    this.#names.add(name);
    this.#observe(instruments);
    let done = false;
    return () => {
      if (done) return;
      done = true;
      this.#pools.delete(pool); // the ended pool is no longer observed nor referenced
    };
  }

  /** Stops observing every pool (the next collection reports zeros, then the callback goes). */
  close(): void {
    this.#closed = true;
    this.#pools.clear();
  }

  #observe(inst: Instruments): void {
    if (this.#callbacks.has(inst)) return;
    const observables = [
      ...(inst.official
        ? [
            inst.official.connectionsTotal,
            inst.official.connectionsIdle,
            inst.official.connectionsWaiting,
          ]
        : []),
      ...(inst.semconv ? [inst.semconv.count, inst.semconv.max, inst.semconv.pending] : []),
    ];
    const callback: BatchObservableCallback = (result) => {
      this.#report(inst, result);
      if (this.#closed) {
        this.#callbacks.delete(inst);
        // not from inside the collection that is calling us
        setImmediate(() => inst.meter.removeBatchObservableCallback(callback, observables)).unref();
      }
    };
    this.#callbacks.set(inst, callback);
    inst.meter.addBatchObservableCallback(callback, observables);
  }

  #report(inst: Instruments, result: BatchObservableResult): void {
    const totals = new Map<string, Totals>();
    for (const name of this.#names) totals.set(name, { idle: 0, used: 0, max: 0, pending: 0 });
    for (const [pool, name] of this.#pools) {
      const t = totals.get(name) ?? { idle: 0, used: 0, max: 0, pending: 0 };
      t.idle += pool.idleCount;
      t.used += Math.max(0, pool.totalCount - pool.idleCount);
      t.max += pool.options.max ?? 10;
      t.pending += pool.waitingCount;
      totals.set(name, t);
    }
    for (const [name, t] of totals) {
      const byName = { 'db.client.connection.pool.name': name };
      if (inst.official) {
        result.observe(inst.official.connectionsTotal, t.idle + t.used, byName);
        result.observe(inst.official.connectionsIdle, t.idle, byName);
        result.observe(inst.official.connectionsWaiting, t.pending, byName);
      }
      if (inst.semconv) {
        result.observe(inst.semconv.count, t.idle, {
          ...byName,
          'db.client.connection.state': 'idle',
        });
        result.observe(inst.semconv.count, t.used, {
          ...byName,
          'db.client.connection.state': 'used',
        });
        result.observe(inst.semconv.max, t.max, byName);
        result.observe(inst.semconv.pending, t.pending, byName);
      }
    }
  }
}
