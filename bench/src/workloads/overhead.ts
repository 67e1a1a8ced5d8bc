/**
 * P1 (child side): sequential `SELECT 1` and a concurrent mix (`SELECT 1` / a lookup by id)
 * through raw pg, the official pool and ours — all three in this process, taking turns in
 * blocks with a rotating order.
 */
import type pg from 'pg';
import type { OtelSdk } from '../otel.js';
import type { Contender, OverheadResult, OverheadTask } from '../protocol.js';
import { createPool } from './contenders.js';

const CONTENDERS: Contender[] = ['raw', 'official', 'ours'];
/** A small parameterized lookup on `bench_items` (created by the orchestrator). */
const LOOKUP = 'select id, name from bench_items where id = $1';

async function sequential(pool: pg.Pool, count: number): Promise<number> {
  let errors = 0;
  for (let i = 0; i < count; i++) {
    try {
      await pool.query('SELECT 1');
    } catch {
      errors++;
    }
  }
  return errors;
}

async function mixed(pool: pg.Pool, count: number, workers: number): Promise<number> {
  let next = 0;
  let errors = 0;
  const worker = async () => {
    while (next < count) {
      const i = next++;
      try {
        if (i % 2 === 0) await pool.query('SELECT 1');
        else await pool.query(LOOKUP, [(i % 100) + 1]);
      } catch {
        errors++;
      }
    }
  };
  await Promise.all(Array.from({ length: workers }, worker));
  return errors;
}

interface Timing {
  wallMs: number;
  /** CPU time (user + system) of this process, the client side, in ms. */
  cpuMs: number;
  errors: number;
}

async function timed(run: () => Promise<number>): Promise<Timing> {
  const cpu = process.cpuUsage();
  const start = performance.now();
  const errors = await run();
  const wallMs = performance.now() - start;
  const used = process.cpuUsage(cpu);
  return { wallMs, cpuMs: (used.user + used.system) / 1000, errors };
}

export async function runOverhead(task: OverheadTask, sdk: OtelSdk): Promise<OverheadResult> {
  const pools = Object.fromEntries(
    CONTENDERS.map((c) => [c, createPool(c, { max: task.workers, password: task.password })]),
  ) as Record<Contender, pg.Pool>;
  for (const pool of Object.values(pools)) pool.on('error', () => {});
  const result: OverheadResult = {
    sequentialMs: { raw: [], official: [], ours: [] },
    concurrentMs: { raw: [], official: [], ours: [] },
    sequentialCpuMs: { raw: [], official: [], ours: [] },
    concurrentCpuMs: { raw: [], official: [], ours: [] },
    order: [],
    errors: { raw: 0, official: 0, ours: 0 },
    spans: {},
  };
  try {
    // warm-up: JIT, tokens, and all `workers` connections of every pool open
    for (const contender of CONTENDERS) {
      await sequential(pools[contender], task.warmup);
      await mixed(pools[contender], task.warmup, task.workers);
    }
    await sdk.flush();
    const spansBefore = sdk.spans();
    for (let block = 0; block < task.blocks; block++) {
      const order = CONTENDERS.map((_, i) => CONTENDERS[(i + block) % CONTENDERS.length]!);
      result.order.push(order);
      for (const contender of order) {
        const pool = pools[contender];
        const seq = await timed(() => sequential(pool, task.blockSize));
        const mix = await timed(() => mixed(pool, task.blockSize, task.workers));
        result.sequentialMs[contender].push(seq.wallMs);
        result.concurrentMs[contender].push(mix.wallMs);
        result.sequentialCpuMs[contender].push(seq.cpuMs);
        result.concurrentCpuMs[contender].push(mix.cpuMs);
        result.errors[contender] += seq.errors + mix.errors;
      }
    }
    await sdk.flush();
    for (const [scope, count] of Object.entries(sdk.spans())) {
      result.spans[scope] = count - (spansBefore[scope] ?? 0);
    }
    return result;
  } finally {
    await Promise.allSettled(Object.values(pools).map((pool) => pool.end()));
  }
}
