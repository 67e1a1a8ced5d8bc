/** Shared harness of the CLI tests: the built bin in a child process, with exactly the given env. */
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  type LocalLakebase,
  type LocalLakebaseOptions,
  startLocalLakebase,
} from '@lakebase-kit/local';
import pg from 'pg';
import { afterAll, beforeAll } from 'vitest';

export const bin = fileURLToPath(new URL('../dist/bin.js', import.meta.url));
// Children run in the package, so `require('pg')` in `node -e` finds this package's pg.
const pkgDir = fileURLToPath(new URL('..', import.meta.url));
export const ALICE = 'alice@example.com';

export interface CliWorld {
  lb: LocalLakebase;
  /** An empty HOME: no ~/.databrickscfg of the machine leaks into the SDK's default auth. */
  home: string;
}

/** A local Lakebase (with alice, and `options`) and an empty HOME for this test file. */
export function useCliWorld(options: LocalLakebaseOptions = {}): CliWorld {
  const world = {} as CliWorld;
  beforeAll(async () => {
    world.home = mkdtempSync(path.join(os.tmpdir(), 'lakebase-cli-'));
    world.lb = await startLocalLakebase({ users: [ALICE], ...options });
  });
  afterAll(async () => {
    await world.lb?.stop();
    if (world.home) rmSync(world.home, { recursive: true, force: true });
  });
  return world;
}

export interface CliRun {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Starts `command` with exactly `env` (plus PATH and the world's empty HOME). */
export function startProcess(
  world: CliWorld,
  command: string,
  args: string[],
  env: Record<string, string>,
) {
  const child = spawn(command, args, {
    cwd: pkgDir,
    env: { PATH: process.env.PATH ?? '', HOME: world.home, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const out = { stdout: '', stderr: '' };
  child.stdout!.on('data', (chunk) => (out.stdout += chunk));
  child.stderr!.on('data', (chunk) => (out.stderr += chunk));
  const done = new Promise<CliRun>((resolve) =>
    child.once('close', (code) => resolve({ code, ...out })),
  );
  return { child: child as ChildProcess, out, done };
}

/** Starts the built `lakebase-kit`. */
export const startCli = (world: CliWorld, args: string[], env: Record<string, string>) =>
  startProcess(world, process.execPath, [bin, ...args], env);

/** Runs the CLI to completion. */
export const runCli = (world: CliWorld, args: string[], env: Record<string, string>) =>
  startCli(world, args, env).done;

/** A login on the world's local Lakebase (TLS, verified against its CA). */
export function loginConfig(world: CliWorld, user: string, password: string): pg.ClientConfig {
  return {
    host: world.lb.env.PGHOST,
    port: Number(world.lb.env.PGPORT),
    database: world.lb.env.PGDATABASE,
    user,
    password,
    ssl: { ca: world.lb.tls!.caPem },
  };
}

/** The world's env with `lakebase-kit dev`'s user tokens, as its env file has them. */
export function devEnv(world: CliWorld, users: string[]): Record<string, string> {
  const tokens = users.map((email) => `${email}=${world.lb.userToken(email)}`).join(',');
  return { ...world.lb.env, LAKEBASE_LOCAL_USER_TOKENS: tokens };
}

/** `current_user` of a login with `config`. */
export async function currentUser(config: pg.ClientConfig): Promise<string> {
  const client = new pg.Client(config);
  await client.connect();
  try {
    return (await client.query('select current_user as u')).rows[0].u;
  } finally {
    await client.end();
  }
}
