/**
 * Which Lakebase the example apps run on:
 *
 * 1. `--local`: a local Lakebase of their own, started in-process (on request, anywhere);
 * 2. `LAKEBASE_ENDPOINT` and `PGHOST` set: that Lakebase — a real one (what a Databricks App
 *    with a `postgres` resource gets), or a running `lakebase-kit dev` when PGHOST is this
 *    machine (its env file loaded, e.g. `node --env-file=.env.local`);
 * 3. as a Databricks App (`DATABRICKS_APP_PORT` / `DATABRICKS_APP_NAME`) or with
 *    `NODE_ENV=production`, nothing else: a missing LAKEBASE_ENDPOINT or PGHOST is an error;
 * 4. in development, a running `lakebase-kit dev`: its env file (`--env-file`, else the
 *    `.env.local` of the directory `pnpm start` runs in), if that dev still answers;
 * 5. else a local Lakebase of their own.
 */
import path from 'node:path';
import {
  DEV_ENV_FILE,
  devLakebaseAnswers,
  parseUserTokens,
  readDevEnvFile,
  USER_TOKENS_ENV,
} from '@lakebase-kit/local/dev-env';

export type LakebaseSource =
  /** The environment of a Lakebase (real, or a `lakebase-kit dev` already loaded). */
  | { kind: 'env'; env: NodeJS.ProcessEnv; reason: string }
  /** A running `lakebase-kit dev`: its environment and its users' access tokens. */
  | { kind: 'dev'; env: Record<string, string>; userTokens: Map<string, string>; reason: string }
  /** A local Lakebase of our own, started now and stopped on close. */
  | { kind: 'own'; dataDir?: string; reason: string };

/** As a Databricks App or in production, without the variables of its `postgres` resource. */
export class MissingLakebaseError extends Error {
  override name = 'MissingLakebaseError';
  constructor(
    readonly missing: string[],
    why: string,
  ) {
    super(
      `${missing.join(' and ')} ${missing.length > 1 ? 'are' : 'is'} not set, and ${why}, so no local ` +
        'Lakebase is started. Give the app its Lakebase: a `postgres` resource in databricks.yml, ' +
        "and in app.yaml's env `- name: LAKEBASE_ENDPOINT` with `valueFrom: postgres` (Databricks " +
        'Apps then sets PGHOST and the other PG* variables). To run on a local Lakebase, pass --local.',
    );
  }
}

/** A `--env-file` that is not the env file of a running `lakebase-kit dev`. */
export class DevEnvFileError extends Error {
  override name = 'DevEnvFileError';
}

const LOOPBACK = /^(localhost|127(\.\d{1,3}){3}|::1|\[::1\])$/i;

export function isLoopbackHost(host: string): boolean {
  return LOOPBACK.test(host.trim());
}

/** Why this counts as production (a Databricks App, or NODE_ENV), or undefined. */
export function productionReason(env: NodeJS.ProcessEnv): string | undefined {
  for (const name of ['DATABRICKS_APP_NAME', 'DATABRICKS_APP_PORT']) {
    if (env[name]) return `${name} is set (this runs as a Databricks App)`;
  }
  if (env.NODE_ENV === 'production') return 'NODE_ENV=production';
  return undefined;
}

export interface ChooseOptions {
  env: NodeJS.ProcessEnv;
  /** `--local`: a local Lakebase of our own, whatever the environment says. */
  local?: boolean;
  /** `--data-dir`: keep that local Lakebase's data there. */
  dataDir?: string;
  /** `--env-file`: the env file of a running `lakebase-kit dev`. */
  envFile?: string;
  /** Where to look for `.env.local` (default: INIT_CWD, where `pnpm start` was typed, or cwd). */
  cwd?: string;
}

export async function chooseLakebase(options: ChooseOptions): Promise<LakebaseSource> {
  const { env } = options;
  const own = (reason: string): LakebaseSource => ({
    kind: 'own',
    dataDir: options.dataDir,
    reason,
  });
  if (options.local) return own('--local');

  const { LAKEBASE_ENDPOINT: endpoint, PGHOST: host } = env;
  if (endpoint && host) {
    if (!isLoopbackHost(host)) {
      return { kind: 'env', env, reason: `LAKEBASE_ENDPOINT and PGHOST=${host} are set` };
    }
    if (!(await devLakebaseAnswers(env as Record<string, string>))) {
      throw new DevEnvFileError(
        `PGHOST=${host} points at a local Lakebase, but nothing answers at DATABRICKS_HOST=${env.DATABRICKS_HOST}: start \`lakebase-kit dev\` again, or unset its variables`,
      );
    }
    return {
      kind: 'dev',
      env: { ...env } as Record<string, string>,
      userTokens: parseUserTokens(env[USER_TOKENS_ENV]),
      reason: `the lakebase-kit dev of PGHOST=${host} (from the environment)`,
    };
  }

  const production = productionReason(env);
  if (production) {
    const missing = [!endpoint && 'LAKEBASE_ENDPOINT', !host && 'PGHOST'].filter(
      (name): name is string => typeof name === 'string',
    );
    throw new MissingLakebaseError(missing, production);
  }

  const explicit = options.envFile !== undefined;
  const file = path.resolve(
    options.cwd ?? env.INIT_CWD ?? process.cwd(),
    options.envFile ?? DEV_ENV_FILE,
  );
  const dev = readDevEnvFile(file);
  if (dev && (await devLakebaseAnswers(dev.env))) {
    return { kind: 'dev', ...dev, reason: `the lakebase-kit dev of ${file}` };
  }
  if (explicit) {
    throw new DevEnvFileError(
      dev
        ? `${file} is from a lakebase-kit dev that no longer runs (nothing answers at ${dev.env.DATABRICKS_HOST}): start it again`
        : `${file} is not the env file of a running \`lakebase-kit dev\` (start one with \`pnpm exec lakebase-kit dev --env-file ${file}\`)`,
    );
  }
  return own(
    dev
      ? `development; ${file} is from a lakebase-kit dev that no longer runs`
      : `development; no lakebase-kit dev env file at ${file}`,
  );
}
