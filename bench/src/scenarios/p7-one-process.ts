/**
 * P7 telemetry on the hot path, the way an app holds its pools: raw `pg.Pool`, the official
 * `createLakebasePool` and ours in ONE process, interleaved in blocks of sequential
 * `SELECT 1` (rotating order). Two children: one with an OTel SDK registered (ours records a
 * span and a duration per query; so does the official kit), one with no SDK at all. The
 * headline is the median of the per-block ratios. Targets: with the SDK ours/official ≤ 1.00
 * and ours/raw ≤ 1.05; without it ours/raw ≤ 1.02.
 */
import type { InProcessResult } from '../protocol.js';
import { runTask } from '../runner.js';
import { median, percentile, round } from '../stats.js';
import { type BenchContext, fmt, type Row } from './context.js';

export interface P7Options {
  blocks: number;
  blockSize: number;
  warmup: number;
}

interface Ratio {
  /** Median of the per-block ratios: the headline. */
  median: number;
  p25: number;
  p75: number;
}

interface Variant {
  /** Median block, queries per second. */
  qps: { raw: number; official: number; ours: number };
  oursVsRaw: Ratio;
  oursVsOfficial: Ratio;
  spans: Record<string, number>;
}

export interface P7Result {
  options: P7Options;
  queriesPerContender: number;
  withSdk: Variant;
  withoutSdk: Variant;
  targets: { withSdkVsRaw: number; withSdkVsOfficial: number; withoutSdkVsRaw: number };
  targetsMet: { withSdkVsRaw: boolean; withSdkVsOfficial: boolean; withoutSdkVsRaw: boolean };
}

const TARGETS = { withSdkVsRaw: 1.05, withSdkVsOfficial: 1.0, withoutSdkVsRaw: 1.02 };

function ratio(a: number[], b: number[]): Ratio {
  const r = a.map((x, i) => x / (b[i] as number));
  return {
    median: round(median(r), 4),
    p25: round(percentile(r, 25), 4),
    p75: round(percentile(r, 75), 4),
  };
}

function variant(result: InProcessResult, blockSize: number): Variant {
  const of = (name: 'raw' | 'official' | 'ours') => result.blocks.map((b) => b[name]);
  const qps = (name: 'raw' | 'official' | 'ours') =>
    Math.round((blockSize / median(of(name))) * 1000);
  return {
    qps: { raw: qps('raw'), official: qps('official'), ours: qps('ours') },
    oursVsRaw: ratio(of('ours'), of('raw')),
    oursVsOfficial: ratio(of('ours'), of('official')),
    spans: result.spans,
  };
}

export async function runP7(ctx: BenchContext, options: P7Options): Promise<P7Result> {
  const password = ctx.lb.mintPgToken(ctx.env.PGUSER as string).token;
  const run = async (sdk: boolean) => {
    const result = await runTask<InProcessResult>(
      { kind: 'inprocess', password, sdk, ...options },
      ctx.env,
    );
    ctx.log(`P7 ${sdk ? 'with' : 'without'} an OTel SDK: ${result.blocks.length} blocks`);
    return variant(result, options.blockSize);
  };
  const withSdk = await run(true);
  const withoutSdk = await run(false);
  return {
    options,
    queriesPerContender: options.blocks * options.blockSize,
    withSdk,
    withoutSdk,
    targets: TARGETS,
    targetsMet: {
      withSdkVsRaw: withSdk.oursVsRaw.median <= TARGETS.withSdkVsRaw,
      withSdkVsOfficial: withSdk.oursVsOfficial.median <= TARGETS.withSdkVsOfficial,
      withoutSdkVsRaw: withoutSdk.oursVsRaw.median <= TARGETS.withoutSdkVsRaw,
    },
  };
}

const cell = (r: Ratio) =>
  `${fmt.ratio(r.median)} (p25–p75 ${r.p25.toFixed(2)}–${r.p75.toFixed(2)})`;

export function p7Rows(r: P7Result): Row[] {
  const n = fmt.int(r.queriesPerContender);
  const spans = (v: Variant) =>
    Object.entries(v.spans)
      .map(([scope, count]) => `${scope}: ${fmt.int(count)}`)
      .join(', ') || 'none';
  const row = (label: string, v: Variant, note: string): Row => ({
    metric: `P7 ${n} sequential SELECT 1, one process, ${label}`,
    raw: `${fmt.int(v.qps.raw)} q/s`,
    official: `${fmt.int(v.qps.official)} q/s`,
    ours: `${fmt.int(v.qps.ours)} q/s`,
    oursVsRaw: cell(v.oursVsRaw),
    oursVsOfficial: cell(v.oursVsOfficial),
    note,
  });
  const met = (ok: boolean) => (ok ? 'met' : 'NOT met');
  const { targets, targetsMet } = r;
  return [
    row(
      'OTel SDK registered',
      r.withSdk,
      `median of per-block ratios, blocks of ${r.options.blockSize}; targets ≤ ${targets.withSdkVsRaw.toFixed(2)}× raw ` +
        `(${met(targetsMet.withSdkVsRaw)}), ≤ ${targets.withSdkVsOfficial.toFixed(2)}× official ` +
        `(${met(targetsMet.withSdkVsOfficial)}); spans exported: ${spans(r.withSdk)}`,
    ),
    row(
      'no OTel SDK',
      r.withoutSdk,
      `target ≤ ${targets.withoutSdkVsRaw.toFixed(2)}× raw (${met(targetsMet.withoutSdkVsRaw)})`,
    ),
  ];
}
