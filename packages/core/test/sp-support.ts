/** Shared helpers of the service-principal test files (not a test file itself). */
import { WorkspaceClient } from '@databricks/sdk-experimental';
import type { LocalLakebase } from '@lakebase-kit/local';
import type { CredentialSource, LakebasePoolConfig, Logger } from '../src/index.js';

export interface CapturedLogger {
  logger: Logger;
  lines: string[];
}

/** A logger that records every line (all levels, with its arguments rendered). */
export function captureLogger(): CapturedLogger {
  const lines: string[] = [];
  const sink =
    (level: string) =>
    (message: string, ...args: unknown[]) => {
      lines.push(`${level} ${message} ${args.map((a) => safeString(a)).join(' ')}`);
    };
  return {
    lines,
    logger: { debug: sink('debug'), info: sink('info'), warn: sink('warn'), error: sink('error') },
  };
}

function safeString(value: unknown): string {
  if (value instanceof Error) return `${value.name}: ${value.message}`;
  try {
    return JSON.stringify(value) ?? String(value);
  } catch {
    return String(value);
  }
}

/** Everything an error could leak: message, stack, own properties, causes. */
export function renderError(error: unknown, depth = 0): string {
  if (depth > 5 || error === undefined || error === null) return '';
  if (!(error instanceof Error)) return safeString(error);
  const own: Record<string, unknown> = {};
  for (const key of Object.getOwnPropertyNames(error)) {
    if (key !== 'cause') own[key] = (error as unknown as Record<string, unknown>)[key];
  }
  return `${error.stack ?? ''} ${safeString(own)} ${renderError(error.cause, depth + 1)}`;
}

/** A workspace client for the local Lakebase's service principal (M2M OAuth). */
export function spWorkspaceClient(lb: LocalLakebase): WorkspaceClient {
  return new WorkspaceClient({
    host: lb.env.DATABRICKS_HOST,
    clientId: lb.env.DATABRICKS_CLIENT_ID,
    clientSecret: lb.env.DATABRICKS_CLIENT_SECRET,
    authType: 'oauth-m2m',
    retryTimeoutSeconds: 5,
  });
}

/** createLakebasePool options for the local Lakebase, everything explicit (no process.env). */
export function localPoolOptions(
  lb: LocalLakebase,
  extra: Partial<LakebasePoolConfig> = {},
): Partial<LakebasePoolConfig> {
  return {
    host: lb.env.PGHOST,
    port: Number(lb.env.PGPORT),
    database: lb.env.PGDATABASE,
    user: lb.env.PGUSER,
    endpoint: lb.env.LAKEBASE_ENDPOINT,
    sslMode: 'disable',
    workspaceClient: spWorkspaceClient(lb),
    ...extra,
  };
}

/** A credential source that records every token it hands out (to search logs and errors). */
export function recordingSource(source: CredentialSource): CredentialSource & { tokens: string[] } {
  const tokens: string[] = [];
  return {
    tokens,
    async fetch(signal?: AbortSignal) {
      const credential = await source.fetch(signal);
      tokens.push(credential.token);
      return credential;
    },
  };
}

export const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Wait until `condition()` holds (polling), failing after `timeoutMs`. */
export async function until(condition: () => boolean, timeoutMs = 20_000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > end) throw new Error('condition not reached in time');
    await sleep(20);
  }
}
