/** What every scenario gets from the orchestrator. */
import type { LocalLakebase, LocalLakebaseOptions } from '@lakebase-kit/local';

export interface BenchContext {
  lb: LocalLakebase;
  /** Environment for workload children: the local Lakebase's `env`. */
  env: Record<string, string>;
  /** Progress line on stderr (never a token). */
  log(line: string): void;
  /**
   * Starts a local Lakebase of the scenario's own (P8: the pooled host; P9: a read replica),
   * so the shared one keeps its settings. The scenario stops it when done; on Ctrl-C or a
   * failure the orchestrator stops it too.
   */
  startLakebase(options: LocalLakebaseOptions): Promise<LocalLakebase>;
}

/**
 * Environment for workload children of `lb`: its `env`, and its CA for the official kit, which
 * verifies TLS against the system roots only (it ignores PGSSLROOTCERT), so the children trust
 * the local CA the way an app trusts a private one.
 */
export function childEnv(lb: LocalLakebase): Record<string, string> {
  return { ...lb.env, ...(lb.tls ? { NODE_EXTRA_CA_CERTS: lb.tls.caFile } : {}) };
}

/** One line of the results table. Cells are display strings; `—` where a contender has no number. */
export interface Row {
  metric: string;
  raw?: string;
  official?: string;
  ours?: string;
  oursVsRaw?: string;
  oursVsOfficial?: string;
  note?: string;
}

/** Waits (briefly) until the proxy sees no open connection, so the next peak starts at 0. */
export async function settleConnections(lb: LocalLakebase, timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (lb.stats().openConnections > 0 && Date.now() < deadline) {
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

export const fmt = {
  int: (n: number) => Math.round(n).toLocaleString('en-US'),
  ms: (n: number) => `${n < 10 ? n.toFixed(2) : n < 100 ? n.toFixed(1) : Math.round(n)} ms`,
  ratio: (n: number) => `${n.toFixed(3)}×`,
  pct: (n: number) => `${(n * 100).toFixed(1)} %`,
};
