/**
 * The env file of a running `lakebase-kit dev` (default `.env.local`): the local Lakebase's
 * environment plus its users' access tokens, so that other processes can use that instance
 * (an example app) and act as its users (`lakebase-kit exec --user alice@example.com`).
 */
import { readFileSync } from 'node:fs';
import { parseEnv } from 'node:util';
import { forwardedUserHeaders } from './base/identities.js';

/** The variable holding the users' Databricks access tokens: `email=token,email=token`. */
export const USER_TOKENS_ENV = 'LAKEBASE_LOCAL_USER_TOKENS';
/** Where `lakebase-kit dev` writes it unless told otherwise (its current directory). */
export const DEV_ENV_FILE = '.env.local';
const HEADER = '# Written by `lakebase-kit dev`; valid while it runs.';

export interface DevEnv {
  /** The local Lakebase's environment (`lb.env`), without the user tokens. */
  env: Record<string, string>;
  /** Email → Databricks access token of each user of that local Lakebase. */
  userTokens: Map<string, string>;
}

/** `email=token,email=token` → a map (emails and tokens hold neither `,` nor `=`). */
export function parseUserTokens(value: string | undefined): Map<string, string> {
  const tokens = new Map<string, string>();
  for (const pair of (value ?? '').split(',')) {
    const at = pair.indexOf('=');
    if (at > 0) tokens.set(pair.slice(0, at).trim(), pair.slice(at + 1).trim());
  }
  return tokens;
}

/** A value as dotenv and `sh` both read it: bare when safe, else in single quotes. */
const quoted = (value: string): string =>
  /^[\w./:@%+=,-]*$/.test(value) ? value : `'${value.replaceAll("'", '')}'`;

/**
 * The file's text: one `KEY=value` line per variable, readable by `node --env-file`, dotenv
 * and `set -a; . ./.env.local`.
 */
export function devEnvFileText({ env, userTokens }: DevEnv): string {
  const tokens = [...userTokens].map(([email, token]) => `${email}=${token}`).join(',');
  const lines = Object.entries(env).map(([key, value]) => `${key}=${quoted(value)}`);
  return `${HEADER}\n${lines.join('\n')}\n${USER_TOKENS_ENV}=${tokens}\n`;
}

/** The env file of `lakebase-kit dev` at `file`; undefined when absent or written by something else. */
export function readDevEnvFile(file: string): DevEnv | undefined {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch {
    return undefined;
  }
  if (!text.startsWith(HEADER)) return undefined;
  const { [USER_TOKENS_ENV]: tokens, ...env } = parseEnv(text) as Record<string, string>;
  return { env, userTokens: parseUserTokens(tokens) };
}

/** True when the fake workspace API of `env` answers (its `lakebase-kit dev` still runs). */
export async function devLakebaseAnswers(
  env: Record<string, string>,
  timeoutMs = 1000,
): Promise<boolean> {
  if (!env.DATABRICKS_HOST) return false;
  try {
    const response = await fetch(
      new URL('/oidc/.well-known/oauth-authorization-server', env.DATABRICKS_HOST),
      { signal: AbortSignal.timeout(timeoutMs) },
    );
    await response.body?.cancel();
    return response.ok;
  } catch {
    return false;
  }
}

export { forwardedUserHeaders };
