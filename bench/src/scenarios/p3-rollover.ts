/**
 * P3 connect latency across token rollovers: tokens live `ttlSeconds`, the credential API
 * answers after `latencyMs`, and `workers` loops open a fresh connection after another
 * (`connect()`, `SELECT 1`, `release(true)`) for `durationMs` — ours vs the official pool.
 */
import type { RolloverResult } from '../protocol.js';
import { runTask } from '../runner.js';
import { percentile, round } from '../stats.js';
import { type BenchContext, fmt, type Row, settleConnections } from './context.js';

export interface P3Options {
  ttlSeconds: number;
  latencyMs: number;
  durationMs: number;
  workers: number;
}

interface Side {
  connects: number;
  errors: number;
  p50Ms: number;
  p99Ms: number;
  maxMs: number;
  /** Connects that took longer than the credential API latency (i.e. waited on it). */
  slowConnects: number;
  credentialCalls: number;
}

export interface P3Result {
  options: P3Options;
  ours: Side;
  official: Side;
}

async function churn(ctx: BenchContext, contender: 'ours' | 'official', o: P3Options) {
  await settleConnections(ctx.lb);
  ctx.lb.resetStats();
  const r = await runTask<RolloverResult>(
    { kind: 'rollover', contender, durationMs: o.durationMs, workers: o.workers },
    ctx.env,
  );
  const side: Side = {
    connects: r.connects,
    errors: r.errors,
    p50Ms: round(percentile(r.latenciesMs, 50), 2),
    p99Ms: round(percentile(r.latenciesMs, 99), 2),
    maxMs: round(Math.max(...r.latenciesMs), 2),
    slowConnects: r.latenciesMs.filter((ms) => ms >= o.latencyMs).length,
    credentialCalls: ctx.lb.stats().credentialCalls[ctx.env.PGUSER as string] ?? 0,
  };
  ctx.log(
    `P3 ${contender.padEnd(8)} ${side.connects} connects, p50 ${fmt.ms(side.p50Ms)}, p99 ${fmt.ms(side.p99Ms)}, ${side.errors} error(s), ${side.credentialCalls} credential calls`,
  );
  return side;
}

export async function runP3(ctx: BenchContext, options: P3Options): Promise<P3Result> {
  ctx.lb.faults.setTokenTtl(options.ttlSeconds);
  ctx.lb.faults.credentialLatency(options.latencyMs);
  try {
    const official = await churn(ctx, 'official', options);
    const ours = await churn(ctx, 'ours', options);
    return { options, ours, official };
  } finally {
    ctx.lb.faults.reset();
  }
}

export function p3Rows(r: P3Result): Row[] {
  const o = r.options;
  const note = `${o.ttlSeconds} s tokens, credential API ${o.latencyMs} ms, ${o.workers} loops × ${o.durationMs / 1000} s of connect → SELECT 1 → release(true)`;
  const ratio = (a: number, b: number) => fmt.ratio(a / b);
  return [
    {
      metric: 'P3 connect latency p50 across token rollovers',
      raw: '—',
      official: fmt.ms(r.official.p50Ms),
      ours: fmt.ms(r.ours.p50Ms),
      oursVsOfficial: ratio(r.ours.p50Ms, r.official.p50Ms),
      note,
    },
    {
      metric: 'P3 connect latency p99 across token rollovers',
      raw: '—',
      official: fmt.ms(r.official.p99Ms),
      ours: fmt.ms(r.ours.p99Ms),
      oursVsOfficial: ratio(r.ours.p99Ms, r.official.p99Ms),
      note,
    },
    {
      metric: 'P3 connects / waited on the API / errors / credential calls',
      raw: '—',
      official: `${fmt.int(r.official.connects)} / ${fmt.int(r.official.slowConnects)} / ${r.official.errors} / ${r.official.credentialCalls}`,
      ours: `${fmt.int(r.ours.connects)} / ${fmt.int(r.ours.slowConnects)} / ${r.ours.errors} / ${r.ours.credentialCalls}`,
      oursVsOfficial: ratio(r.ours.connects, r.official.connects),
      note: `"waited" = connects slower than the ${o.latencyMs} ms credential latency; ratio = connects`,
    },
  ];
}
