import type { Logger } from '@lakebase-kit/core';
import {
  applyEnv,
  captureLogger as capture,
  type LocalLakebase,
  startLocalLakebase,
} from '@lakebase-kit/local';

export { TOKEN_PATTERN } from '@lakebase-kit/local';
export const ALICE = 'alice@example.com';
export const BOB = 'bob@example.com';

const restorers = new WeakMap<LocalLakebase, () => void>();

/**
 * A fresh local Lakebase for one test file, its env in `process.env` (where `createLakebase()`
 * and the SDK read their configuration, as in a deployed app).
 */
export async function startWorld(): Promise<LocalLakebase> {
  const lb = await startLocalLakebase({ users: [ALICE, BOB] });
  restorers.set(lb, applyEnv({ ...lb.env }));
  return lb;
}

export async function stopWorld(lb: LocalLakebase | undefined): Promise<void> {
  if (!lb) return;
  restorers.get(lb)?.();
  await lb.stop();
}

/** A logger that records every line (message and arguments) for secret checks. */
export function captureLogger(lines: string[]): Logger {
  return capture(lines).logger;
}
