/**
 * P2 credential calls in a connect storm: `connections` concurrent `pool.connect()` on a cold
 * pool (max above the storm), ours vs the official pool; the credential API answers after
 * `latencyMs` so concurrent connects really overlap one call. Counted by the local Lakebase.
 */
import type { StormResult } from '../protocol.js';
import { runTask } from '../runner.js';
import { type BenchContext, fmt, type Row, settleConnections } from './context.js';

export interface P2Options {
  connections: number;
  latencyMs: number;
}

interface Side extends StormResult {
  credentialCalls: number;
}

export interface P2Result {
  options: P2Options;
  ours: Side;
  official: Side;
}

async function storm(ctx: BenchContext, contender: 'ours' | 'official', o: P2Options) {
  await settleConnections(ctx.lb);
  ctx.lb.resetStats();
  const result = await runTask<StormResult>(
    { kind: 'storm', contender, connections: o.connections },
    ctx.env,
  );
  const credentialCalls = ctx.lb.stats().credentialCalls[ctx.env.PGUSER as string] ?? 0;
  ctx.log(
    `P2 ${contender.padEnd(8)} ${credentialCalls} credential call(s), storm ${fmt.ms(result.wallMs)}, ${result.errors} error(s)`,
  );
  return { ...result, credentialCalls };
}

export async function runP2(ctx: BenchContext, options: P2Options): Promise<P2Result> {
  ctx.lb.faults.credentialLatency(options.latencyMs);
  try {
    const official = await storm(ctx, 'official', options);
    const ours = await storm(ctx, 'ours', options);
    return { options, ours, official };
  } finally {
    ctx.lb.faults.reset();
  }
}

export function p2Rows(r: P2Result): Row[] {
  const note = `${r.options.connections} concurrent connect() on a cold pool; credential API latency ${r.options.latencyMs} ms`;
  return [
    {
      metric: `P2 credential calls, ${r.options.connections}-way connect storm`,
      raw: '—',
      official: `${r.official.credentialCalls}${r.official.errors ? ` (${r.official.errors} errors)` : ''}`,
      ours: `${r.ours.credentialCalls}${r.ours.errors ? ` (${r.ours.errors} errors)` : ''}`,
      oursVsOfficial: `${r.ours.credentialCalls} vs ${r.official.credentialCalls}`,
      note,
    },
    {
      metric: 'P2 storm wall time (all connects done)',
      raw: '—',
      official: fmt.ms(r.official.wallMs),
      ours: fmt.ms(r.ours.wallMs),
      oursVsOfficial: fmt.ratio(r.ours.wallMs / r.official.wallMs),
      note,
    },
  ];
}
