/**
 * Helpers for tests that run on the local Lakebase: put its env into `process.env` (and take it
 * out again), and capture log lines and errors to prove no secret ever shows up in them.
 */

/** A `{ debug, info, warn, error }` logger (the shape of `@lakebase-kit/core`'s `Logger`). */
export interface TestLogger {
  debug(message: string, ...args: unknown[]): void;
  info(message: string, ...args: unknown[]): void;
  warn(message: string, ...args: unknown[]): void;
  error(message: string, ...args: unknown[]): void;
}

function render(value: unknown): string {
  if (value instanceof Error) return `${value.name}: ${value.message} ${value.stack ?? ''}`;
  try {
    return typeof value === 'string' ? value : (JSON.stringify(value) ?? String(value));
  } catch {
    return String(value);
  }
}

/** A logger that records every line, with its arguments rendered, into `lines`. */
export function captureLogger(lines: string[] = []): { logger: TestLogger; lines: string[] } {
  const sink =
    (level: string) =>
    (message: string, ...args: unknown[]) => {
      lines.push(`${level} ${message} ${args.map(render).join(' ')}`);
    };
  return {
    lines,
    logger: { debug: sink('debug'), info: sink('info'), warn: sink('warn'), error: sink('error') },
  };
}

/** Everything an error could leak: message, stack, own properties and causes. */
export function renderError(error: unknown, depth = 0): string {
  if (depth > 5 || error === undefined || error === null) return '';
  if (!(error instanceof Error)) return render(error);
  const own: Record<string, unknown> = {};
  for (const key of Object.getOwnPropertyNames(error)) {
    if (key !== 'cause') own[key] = (error as unknown as Record<string, unknown>)[key];
  }
  return `${error.stack ?? ''} ${render(own)} ${renderError(error.cause, depth + 1)}`;
}

/** Sets `env` in `process.env`; the returned function restores what was there before. */
export function applyEnv(env: Record<string, string>): () => void {
  const saved = new Map(Object.keys(env).map((key) => [key, process.env[key]]));
  Object.assign(process.env, env);
  return () => {
    for (const [key, value] of saved) {
      if (value === undefined) delete process.env[key];
      else process.env[key] = value;
    }
  };
}

/**
 * Puts `lb.env` into `process.env` (where apps, `createLakebase()` and the SDK read their
 * configuration) until `lb.stop()`, which then restores the previous values.
 */
export function exportEnvUntilStop<T extends { env: object; stop(): Promise<void> }>(lb: T): T {
  const restore = applyEnv({ ...(lb.env as Record<string, string>) });
  const stop = lb.stop.bind(lb);
  lb.stop = async () => {
    restore();
    await stop();
  };
  return lb;
}

/** Every token the local Lakebase mints (Postgres, workspace, user) starts with `lbk_`. */
export const TOKEN_PATTERN = /lbk_/;
