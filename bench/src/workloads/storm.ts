/** P2 (child side): `connections` concurrent `pool.connect()` on a cold pool. */

import type { StormResult, StormTask } from '../protocol.js';
import { createPool } from './contenders.js';

export async function runStorm(task: StormTask): Promise<StormResult> {
  const pool = createPool(task.contender, { max: task.connections + 10 });
  pool.on('error', () => {});
  try {
    const start = performance.now();
    const settled = await Promise.allSettled(
      Array.from({ length: task.connections }, () => pool.connect()),
    );
    const wallMs = performance.now() - start;
    let errors = 0;
    for (const outcome of settled) {
      if (outcome.status === 'fulfilled') outcome.value.release();
      else errors++;
    }
    return { wallMs, errors };
  } finally {
    await pool.end();
  }
}
