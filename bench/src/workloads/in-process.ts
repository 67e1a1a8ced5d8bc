/**
 * P7 (child side): raw `pg.Pool`, the official `createLakebasePool` and ours in ONE process —
 * the way an app would hold them — interleaved in blocks of sequential `SELECT 1` with a
 * rotating order, so load from elsewhere lands on all three alike. With or without an OTel SDK
 * registered (the child decides before anything is imported that reads the global providers).
 */
import type pg from 'pg';
import type { OtelSdk } from '../otel.js';
import type { InProcessResult, InProcessTask } from '../protocol.js';
import { createPool } from './contenders.js';

const CONTENDERS = ['raw', 'official', 'ours'] as const;

export async function runInProcess(
  task: InProcessTask,
  sdk: OtelSdk | undefined,
): Promise<InProcessResult> {
  const pools: Record<(typeof CONTENDERS)[number], pg.Pool> = {
    raw: createPool('raw', { max: 1, password: task.password }),
    official: createPool('official', { max: 1 }),
    ours: createPool('ours', { max: 1 }),
  };
  try {
    for (const name of CONTENDERS) {
      for (let i = 0; i < task.warmup; i++) await pools[name].query('SELECT 1');
    }
    const blocks: InProcessResult['blocks'] = [];
    for (let b = 0; b < task.blocks; b++) {
      const block: Record<string, number> = {};
      for (let k = 0; k < CONTENDERS.length; k++) {
        const name = CONTENDERS[(k + b) % CONTENDERS.length]!;
        const pool = pools[name];
        const started = performance.now();
        for (let i = 0; i < task.blockSize; i++) await pool.query('SELECT 1');
        block[name] = performance.now() - started;
      }
      blocks.push(block as InProcessResult['blocks'][number]);
    }
    await sdk?.flush();
    return { blocks, spans: sdk?.spans() ?? {} };
  } finally {
    await Promise.all(Object.values(pools).map((pool) => pool.end().catch(() => undefined)));
  }
}
