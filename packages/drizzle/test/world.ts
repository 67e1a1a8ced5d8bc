import type { Logger } from '@lakebase-kit/core';
import { type LocalLakebase, startLocalLakebase } from '@lakebase-kit/local';
import { captureLogger as capture, exportEnvUntilStop } from '@lakebase-kit/local/testing';

export { TOKEN_PATTERN } from '@lakebase-kit/local/testing';
export const ALICE = 'alice@example.com';
export const BOB = 'bob@example.com';

/** A fresh local Lakebase for one test file, its env in `process.env` until it stops. */
export const startWorld = async (): Promise<LocalLakebase> =>
  exportEnvUntilStop(await startLocalLakebase({ users: [ALICE, BOB] }));
export const stopWorld = async (lb: LocalLakebase | undefined) => lb?.stop();
/** A logger that records every line (message and arguments) for secret checks. */
export const captureLogger = (lines: string[]): Logger => capture(lines).logger;
