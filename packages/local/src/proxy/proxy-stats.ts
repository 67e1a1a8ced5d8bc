/** The proxy's counters: passwords checked, proxied connections per role, held connections. */
import type { ConnectionStats, LocalStats } from '../base/types.js';

export type ProxyStatsSnapshot = Pick<
  LocalStats,
  | 'authAttempts'
  | 'authFailures'
  | 'connections'
  | 'openConnections'
  | 'peakConnections'
  | 'heldConnections'
>;

export class ProxyStats {
  #authAttempts = 0;
  #authFailures = 0;
  readonly #connections = new Map<string, ConnectionStats>();
  #open = 0;
  #peak = 0;
  #held = 0;

  authAttempt(ok: boolean): void {
    this.#authAttempts++;
    if (!ok) this.#authFailures++;
  }

  /** A password that checked out, for a login Postgres then refused (no such role). */
  authRejected(): void {
    this.#authFailures++;
  }

  /** A connection starts (+1) or stops (-1) waiting for Postgres (suspended, restarting). */
  held(delta: 1 | -1): void {
    this.#held += delta;
  }

  connectionOpened(role: string): void {
    const entry = this.#connections.get(role) ?? { open: 0, peak: 0, total: 0 };
    entry.open++;
    entry.total++;
    entry.peak = Math.max(entry.peak, entry.open);
    this.#connections.set(role, entry);
    this.#open++;
    this.#peak = Math.max(this.#peak, this.#open);
  }

  connectionClosed(role: string): void {
    const entry = this.#connections.get(role);
    if (entry && entry.open > 0) entry.open--;
    if (this.#open > 0) this.#open--;
  }

  snapshot(): ProxyStatsSnapshot {
    const connections: Record<string, ConnectionStats> = {};
    for (const [role, entry] of this.#connections) connections[role] = { ...entry };
    return {
      authAttempts: this.#authAttempts,
      authFailures: this.#authFailures,
      connections,
      openConnections: this.#open,
      peakConnections: this.#peak,
      heldConnections: this.#held,
    };
  }

  /** Zeroes the counters; open and held connections stay counted (peaks restart from them). */
  reset(): void {
    this.#authAttempts = 0;
    this.#authFailures = 0;
    for (const [role, entry] of this.#connections) {
      if (entry.open === 0) this.#connections.delete(role);
      else this.#connections.set(role, { open: entry.open, peak: entry.open, total: 0 });
    }
    this.#peak = this.#open;
  }
}
