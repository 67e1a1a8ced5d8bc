/** Counters: credential calls, proxy auth, proxied connections. */
import type { ConnectionStats, LocalStats } from './types.js';

export class StatsRecorder {
  private credentialCalls = new Map<string, number>();
  private authAttempts = 0;
  private authFailures = 0;
  private connections = new Map<string, ConnectionStats>();
  private open = 0;
  private peak = 0;

  credentialCall(identity: string): void {
    this.credentialCalls.set(identity, (this.credentialCalls.get(identity) ?? 0) + 1);
  }

  authAttempt(ok: boolean): void {
    this.authAttempts++;
    if (!ok) this.authFailures++;
  }

  /** A password that checked out, for a login Postgres then refused (no such role). */
  authRejected(): void {
    this.authFailures++;
  }

  connectionOpened(role: string): void {
    const entry = this.connections.get(role) ?? { open: 0, peak: 0, total: 0 };
    entry.open++;
    entry.total++;
    entry.peak = Math.max(entry.peak, entry.open);
    this.connections.set(role, entry);
    this.open++;
    this.peak = Math.max(this.peak, this.open);
  }

  connectionClosed(role: string): void {
    const entry = this.connections.get(role);
    if (entry && entry.open > 0) entry.open--;
    if (this.open > 0) this.open--;
  }

  snapshot(): LocalStats {
    const credentialCalls = Object.fromEntries(this.credentialCalls);
    const connections: Record<string, ConnectionStats> = {};
    for (const [role, entry] of this.connections) connections[role] = { ...entry };
    return {
      credentialCalls,
      credentialCallsTotal: [...this.credentialCalls.values()].reduce((a, b) => a + b, 0),
      authAttempts: this.authAttempts,
      authFailures: this.authFailures,
      connections,
      openConnections: this.open,
      peakConnections: this.peak,
    };
  }

  /** Zeroes the counters; open connections stay counted (peaks restart from them). */
  reset(): void {
    this.credentialCalls.clear();
    this.authAttempts = 0;
    this.authFailures = 0;
    for (const [role, entry] of this.connections) {
      if (entry.open === 0) this.connections.delete(role);
      else this.connections.set(role, { open: entry.open, peak: entry.open, total: 0 });
    }
    this.peak = this.open;
  }
}
