/**
 * Opens the Lakebase `chooseLakebase()` picked (or a test passed): the environment to build
 * `createLakebase()` (or AppKit) from, the demo users on a local Lakebase, a description for
 * the banner, and `close()` for a local Lakebase this process started.
 */
import type { LocalLakebase } from '@lakebase-kit/local';
import { curlCommands, type DemoUsers, demoUsersFromTokens, demoUsersOf } from './local-mode.js';
import { chooseLakebase, type LakebaseSource } from './mode.js';

/** A source, or a local Lakebase a test made (used as it is and left running). */
export type OpenableSource = LakebaseSource | { kind: 'given'; lb: LocalLakebase };

/**
 * The apps' `local` option → a source: `true` → one of its own; `false` → `env` as it is; a
 * `LocalLakebase` → that one; else `source`, else what `chooseLakebase({ env })` decides.
 */
export async function sourceFromOptions(
  local: boolean | LocalLakebase | undefined,
  source: LakebaseSource | undefined,
  env: NodeJS.ProcessEnv,
): Promise<OpenableSource> {
  if (local === true) return { kind: 'own', reason: 'local: true' };
  if (local === false) return { kind: 'env', env, reason: 'local: false' };
  if (local) return { kind: 'given', lb: local };
  return source ?? chooseLakebase({ env });
}

export interface OpenedLakebase {
  /** `own`, `dev` (a running lakebase-kit dev), `env` (the environment's), or `given` (a test's). */
  kind: LakebaseSource['kind'] | 'given';
  /** The environment of that Lakebase. */
  env: NodeJS.ProcessEnv;
  /** On a local Lakebase (own, given or lakebase-kit dev's): the demo users and their headers. */
  demo?: DemoUsers;
  /** The local Lakebase object, when it lives in this process. */
  local?: LocalLakebase;
  /** Which Lakebase it is, for the banner (one line or a few). */
  description: string[];
  /** Stops the local Lakebase this opened (an `own` one); nothing otherwise. */
  close(): Promise<void>;
}

const nothing = async () => {};

function describeLocal(lb: LocalLakebase, kept: boolean): string {
  return (
    `token proxy 127.0.0.1:${lb.proxyPort} → Postgres (private Unix socket, no TCP); ` +
    `data dir: ${lb.dataDir} (${kept ? 'kept' : 'removed on exit; --data-dir DIR keeps it'})`
  );
}

export async function openLakebase(
  source: OpenableSource,
  users: readonly string[],
): Promise<OpenedLakebase> {
  switch (source.kind) {
    case 'given':
      return {
        kind: 'given',
        env: { ...source.lb.env },
        demo: demoUsersOf(source.lb, users),
        local: source.lb,
        description: [`Lakebase: a local one (given), ${describeLocal(source.lb, true)}`],
        close: nothing,
      };
    case 'own': {
      const { startLocalLakebase } = await import('@lakebase-kit/local');
      const lb = await startLocalLakebase({ users: [...users], dataDir: source.dataDir });
      return {
        kind: 'own',
        env: { ...lb.env },
        demo: demoUsersOf(lb, users),
        local: lb,
        description: [
          `Lakebase: a local one of its own (${source.reason})`,
          `  ${describeLocal(lb, source.dataDir !== undefined)}`,
        ],
        close: () => lb.stop(),
      };
    }
    case 'dev':
      return {
        kind: 'dev',
        env: { ...source.env },
        demo: demoUsersFromTokens(source.userTokens),
        description: [
          `Lakebase: ${source.reason}`,
          `  token proxy ${source.env.PGHOST}:${source.env.PGPORT}; its data lives as long as that lakebase-kit dev`,
        ],
        close: nothing,
      };
    case 'env':
      return {
        kind: 'env',
        env: source.env,
        description: [`Lakebase: ${source.reason}; user routes need the Databricks Apps headers`],
        close: nothing,
      };
  }
}

/** The banner's Lakebase part: which one, and on a local one the curl commands of its users. */
export async function bannerLines(
  opened: Pick<OpenedLakebase, 'description' | 'demo'>,
  url: string,
): Promise<string[]> {
  const lines = [...opened.description];
  if (opened.demo) {
    lines.push(
      '',
      'Open the URL and pick alice or bob, or try:',
      '',
      await curlCommands(opened.demo, url),
      '',
      `# every order, as the app's service principal\ncurl ${url}api/orders`,
    );
  }
  return lines;
}
