/**
 * P3 (child side): open fresh connections continuously for `durationMs` (connect, one query,
 * `release(true)` so the connection is closed), from `workers` loops, while the orchestrator
 * has made tokens short-lived and the credential API slow.
 */

import type { RolloverResult, RolloverTask } from '../protocol.js';
import { createPool } from './contenders.js';

export async function runRollover(task: RolloverTask): Promise<RolloverResult> {
  const pool = createPool(task.contender, { max: task.workers });
  pool.on('error', () => {});
  const latenciesMs: number[] = [];
  let errors = 0;
  const deadline = performance.now() + task.durationMs;
  const worker = async () => {
    while (performance.now() < deadline) {
      const start = performance.now();
      try {
        const client = await pool.connect();
        latenciesMs.push(performance.now() - start);
        try {
          await client.query('SELECT 1');
        } finally {
          client.release(true);
        }
      } catch {
        errors++;
      }
    }
  };
  try {
    await Promise.all(Array.from({ length: task.workers }, worker));
    return { connects: latenciesMs.length, errors, latenciesMs };
  } finally {
    await pool.end();
  }
}
