/**
 * P1 query overhead: raw `pg.Pool` (password = a minted token), the official
 * `@databricks/lakebase` 0.6.0 pool, and ours (telemetry on; an OTel SDK is registered in the
 * child, so the official kit's spans are recorded too). All three run in one child and take
 * turns in blocks with a rotating order, so noise on this shared 2-core machine lands on all
 * of them alike. Totals give the ratios; per-block ratios give the spread.
 */
import {
  type BlockResult,
  type OverheadResult,
  P1_CONTENDERS,
  type P1Contender,
} from '../protocol.js';
import { type Spawned, spawnTask } from '../runner.js';
import { median, percentile, round } from '../stats.js';
import { type BenchContext, fmt, type Row } from './context.js';

export interface P1Options {
  blocks: number;
  blockSize: number;
  workers: number;
  warmup: number;
}

interface Series {
  /** Wall time of each block, in block order. */
  blocksMs: number[];
  /** Sum over blocks. */
  totalMs: number;
  /** Throughput of the median block, queries per second. */
  qps: number;
  /** Client-process CPU time (user + system) per query of the median block, µs. */
  cpuUsPerQuery: number;
  cpuBlocksMs: number[];
}

interface RatioSet {
  /** Median of the same-block ratios (blocks run back to back): the headline. */
  oursVsRaw: number;
  oursVsOfficial: number;
  /** Ours with `telemetry: false`, against raw: what is left without spans and metrics. */
  oursNoTelemetryVsRaw: number;
  /** Same-block ratios summarized: [min, p25, median, p75, max]. */
  oursVsRawBlocks: number[];
  oursVsOfficialBlocks: number[];
  oursNoTelemetryVsRawBlocks: number[];
  /** Ratios of the totals over all blocks. */
  totals: { oursVsRaw: number; oursVsOfficial: number; oursNoTelemetryVsRaw: number };
}

export interface P1Result {
  options: P1Options;
  queriesPerContender: number;
  errors: Record<P1Contender, number>;
  spansExported: Record<string, number>;
  sequential: Record<P1Contender, Series>;
  concurrent: Record<P1Contender, Series>;
  /** Wall-time ratios (the target applies to these). */
  ratios: { sequential: RatioSet; concurrent: RatioSet };
  /** Client CPU-time ratios: the library's own cost, far less sensitive to a busy machine. */
  cpuRatios: { sequential: RatioSet; concurrent: RatioSet };
  targetOursVsRaw: number;
  targetMet: boolean;
}

const CONTENDERS = P1_CONTENDERS;
const TARGET = 1.03;

const sum = (xs: number[]) => xs.reduce((a, b) => a + b, 0);

function series(blocksMs: number[], cpuMs: number[], blockSize: number): Series {
  return {
    blocksMs: blocksMs.map((ms) => round(ms, 1)),
    totalMs: round(sum(blocksMs), 1),
    qps: Math.round((blockSize / median(blocksMs)) * 1000),
    cpuUsPerQuery: round((median(cpuMs) * 1000) / blockSize, 1),
    cpuBlocksMs: cpuMs.map((ms) => round(ms, 1)),
  };
}

const summary = (values: number[]) =>
  [0, 25, 50, 75, 100].map((p) => round(percentile(values, p), 4));

function ratios(times: Record<P1Contender, number[]>): RatioSet {
  const perBlock = (a: number[], b: number[]) => summary(a.map((x, i) => x / (b[i] as number)));
  const raw = perBlock(times.ours, times.raw);
  const official = perBlock(times.ours, times.official);
  const bare = perBlock(times.oursNoTelemetry, times.raw);
  const total = (a: number[], b: number[]) => round(sum(a) / sum(b), 4);
  return {
    oursVsRaw: raw[2]!,
    oursVsOfficial: official[2]!,
    oursNoTelemetryVsRaw: bare[2]!,
    oursVsRawBlocks: raw,
    oursVsOfficialBlocks: official,
    oursNoTelemetryVsRawBlocks: bare,
    totals: {
      oursVsRaw: total(times.ours, times.raw),
      oursVsOfficial: total(times.ours, times.official),
      oursNoTelemetryVsRaw: total(times.oursNoTelemetry, times.raw),
    },
  };
}

export async function runP1(ctx: BenchContext, options: P1Options): Promise<P1Result> {
  await ctx.lb.sql(
    `create table if not exists public.bench_items (id int primary key, name text not null);
     insert into public.bench_items select i, 'item ' || i from generate_series(1, 100) i
       on conflict do nothing;
     grant select on public.bench_items to public`,
  );
  const password = ctx.lb.mintPgToken(ctx.env.PGUSER as string).token;
  const children = {} as Record<P1Contender, Spawned>;
  const raw = {
    sequentialMs: {} as Record<P1Contender, number[]>,
    concurrentMs: {} as Record<P1Contender, number[]>,
    sequentialCpuMs: {} as Record<P1Contender, number[]>,
    concurrentCpuMs: {} as Record<P1Contender, number[]>,
    errors: {} as Record<P1Contender, number>,
    spans: {} as Record<string, number>,
  };
  try {
    for (const contender of CONTENDERS) {
      children[contender] = spawnTask(
        {
          kind: 'overhead',
          contender,
          password: contender === 'raw' ? password : undefined,
          workers: options.workers,
          warmup: options.warmup,
        },
        ctx.env,
      );
      raw.sequentialMs[contender] = [];
      raw.concurrentMs[contender] = [];
      raw.sequentialCpuMs[contender] = [];
      raw.concurrentCpuMs[contender] = [];
      raw.errors[contender] = 0;
    }
    await Promise.all(CONTENDERS.map((c) => children[c].nextReply()));
    for (let block = 0; block < options.blocks; block++) {
      const order = CONTENDERS.map((_, i) => CONTENDERS[(i + block) % CONTENDERS.length]!);
      for (const contender of order) {
        const child = children[contender];
        child.command({ type: 'block', size: options.blockSize });
        const r = (await child.nextReply()) as BlockResult;
        raw.sequentialMs[contender].push(r.sequential.wallMs);
        raw.concurrentMs[contender].push(r.concurrent.wallMs);
        raw.sequentialCpuMs[contender].push(r.sequential.cpuMs);
        raw.concurrentCpuMs[contender].push(r.concurrent.cpuMs);
        raw.errors[contender] += r.sequential.errors + r.concurrent.errors;
      }
      ctx.log(`P1 block ${block + 1}/${options.blocks} (${order.join(', ')})`);
    }
    for (const contender of CONTENDERS) children[contender].command({ type: 'stop' });
    for (const contender of CONTENDERS) {
      const { spans } = (await children[contender].result) as OverheadResult;
      for (const [scope, count] of Object.entries(spans)) {
        if (count > 0) raw.spans[`${contender}: ${scope}`] = count;
      }
    }
  } finally {
    for (const child of Object.values(children)) child.child.kill();
  }
  const build = (times: Record<P1Contender, number[]>, cpu: Record<P1Contender, number[]>) =>
    Object.fromEntries(
      CONTENDERS.map((c) => [c, series(times[c], cpu[c], options.blockSize)]),
    ) as Record<P1Contender, Series>;
  const result: P1Result = {
    options,
    queriesPerContender: options.blocks * options.blockSize,
    errors: raw.errors,
    spansExported: raw.spans,
    sequential: build(raw.sequentialMs, raw.sequentialCpuMs),
    concurrent: build(raw.concurrentMs, raw.concurrentCpuMs),
    ratios: { sequential: ratios(raw.sequentialMs), concurrent: ratios(raw.concurrentMs) },
    cpuRatios: {
      sequential: ratios(raw.sequentialCpuMs),
      concurrent: ratios(raw.concurrentCpuMs),
    },
    targetOursVsRaw: TARGET,
    targetMet: false,
  };
  result.targetMet =
    result.ratios.sequential.oursVsRaw <= TARGET && result.ratios.concurrent.oursVsRaw <= TARGET;
  return result;
}

function cell(s: Series): string {
  return `${fmt.int(s.qps)} q/s`;
}

function cpuCell(s: Series): string {
  return `${s.cpuUsPerQuery.toFixed(1)} µs/q`;
}

function ratioCell(total: number, blocks: number[]): string {
  return `${fmt.ratio(total)} (p25–p75 ${blocks[1]!.toFixed(2)}–${blocks[3]!.toFixed(2)})`;
}

export function p1Rows(result: P1Result): Row[] {
  const { options: o } = result;
  const note = `${o.blocks} interleaved blocks of ${fmt.int(o.blockSize)} per contender; q/s of the median block; ratios = median of same-block time ratios (p25–p75 of them); target ours/raw ≤ ${result.targetOursVsRaw}×`;
  const cpuNote = 'CPU time (user + system) of the client process per query, median block';
  const offNote =
    'ours with telemetry: false, same blocks: the cost left without spans and metrics';
  const pair = (
    metric: string,
    s: Record<P1Contender, Series>,
    r: RatioSet,
    show: (s: Series) => string,
    rowNote: string,
  ): Row[] => [
    {
      metric,
      raw: show(s.raw),
      official: show(s.official),
      ours: show(s.ours),
      oursVsRaw: ratioCell(r.oursVsRaw, r.oursVsRawBlocks),
      oursVsOfficial: ratioCell(r.oursVsOfficial, r.oursVsOfficialBlocks),
      note: rowNote,
    },
    {
      metric: `${metric} — ours, telemetry off`,
      ours: show(s.oursNoTelemetry),
      oursVsRaw: ratioCell(r.oursNoTelemetryVsRaw, r.oursNoTelemetryVsRawBlocks),
      note: offNote,
    },
  ];
  const n = fmt.int(result.queriesPerContender);
  const mix = `${o.workers}-way mix (SELECT 1 / lookup by id)`;
  return [
    ...pair(`P1 ${n} sequential SELECT 1`, result.sequential, result.ratios.sequential, cell, note),
    ...pair(`P1 ${n} queries, ${mix}`, result.concurrent, result.ratios.concurrent, cell, note),
    ...pair(
      'P1 client CPU, sequential',
      result.sequential,
      result.cpuRatios.sequential,
      cpuCell,
      cpuNote,
    ),
    ...pair(
      `P1 client CPU, ${o.workers}-way mix`,
      result.concurrent,
      result.cpuRatios.concurrent,
      cpuCell,
      cpuNote,
    ),
  ];
}
