/**
 * P1 (child side): one contender's pool. After a warm-up it waits for `block` commands and
 * runs, per block, `size` sequential `SELECT 1` and `size` queries of a concurrent mix
 * (`SELECT 1` / a lookup by id over `workers` loops), answering with wall and CPU times.
 */
import type pg from 'pg';
import type { OtelSdk } from '../otel.js';
import type { BlockResult, Command, OverheadResult, OverheadTask, Timing } from '../protocol.js';
import { createPool } from './contenders.js';

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

async function timed(run: () => Promise<number>): Promise<Timing> {
  const cpu = process.cpuUsage();
  const start = performance.now();
  const errors = await run();
  const wallMs = performance.now() - start;
  const used = process.cpuUsage(cpu);
  return { wallMs, cpuMs: (used.user + used.system) / 1000, errors };
}

export async function runOverhead(
  task: OverheadTask,
  sdk: OtelSdk,
  commands: AsyncIterable<Command>,
  reply: (data: unknown) => Promise<void>,
): Promise<OverheadResult> {
  const pool = createPool(task.contender, { max: task.workers, password: task.password });
  pool.on('error', () => {});
  try {
    await sequential(pool, task.warmup);
    await mixed(pool, task.warmup, task.workers);
    await sdk.flush();
    const before = sdk.spans();
    await reply('warm');
    for await (const command of commands) {
      if (command.type === 'stop') break;
      if (command.type !== 'block') continue;
      const block: BlockResult = {
        sequential: await timed(() => sequential(pool, command.size)),
        concurrent: await timed(() => mixed(pool, command.size, task.workers)),
      };
      await reply(block);
    }
    await sdk.flush();
    const spans: Record<string, number> = {};
    for (const [scope, count] of Object.entries(sdk.spans())) {
      spans[scope] = count - (before[scope] ?? 0);
    }
    return { spans };
  } finally {
    await pool.end();
  }
}
