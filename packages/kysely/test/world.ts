import type { Logger } from '@lakebase-kit/core';
import { type LocalLakebase, startLocalLakebase } from '@lakebase-kit/local';

export const ALICE = 'alice@example.com';
export const BOB = 'bob@example.com';

const savedEnv = { ...process.env };

/**
 * A fresh local Lakebase (embedded Postgres + token proxy + fake workspace) for one test file.
 * Its env goes into `process.env`, where `createLakebase()` and the SDK read their
 * configuration, as in a deployed app (each test file runs in its own process).
 */
export async function startWorld(): Promise<LocalLakebase> {
  const lb = await startLocalLakebase({ users: [ALICE, BOB] });
  Object.assign(process.env, lb.env);
  return lb;
}

export async function stopWorld(lb: LocalLakebase | undefined): Promise<void> {
  if (!lb) return;
  for (const key of Object.keys(lb.env)) {
    if (savedEnv[key] === undefined) delete process.env[key];
    else process.env[key] = savedEnv[key];
  }
  await lb.stop();
}

/** A logger that records every line (message and arguments) for secret checks. */
export function captureLogger(lines: string[]): Logger {
  const record =
    (level: string) =>
    (message: string, ...args: unknown[]) => {
      lines.push(`${level} ${message} ${args.map((a) => safeString(a)).join(' ')}`);
    };
  return {
    debug: record('debug'),
    info: record('info'),
    warn: record('warn'),
    error: record('error'),
  };
}

function safeString(value: unknown): string {
  if (value instanceof Error) return `${value.name}: ${value.message} ${value.stack ?? ''}`;
  try {
    return typeof value === 'string' ? value : JSON.stringify(value);
  } catch {
    return String(value);
  }
}

/** Every token the local Lakebase mints starts with `lbk_`. */
export const TOKEN_PATTERN = /lbk_/;
