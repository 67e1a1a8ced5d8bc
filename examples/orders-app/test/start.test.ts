/**
 * `pnpm start` for real: spawns the example's `start` script command (node + tsx on
 * src/main.ts, which starts its own local Lakebase) with PORT=0, uses the printed URL and curl
 * headers, then sends SIGINT and checks a clean exit (code 0) with no Postgres left behind.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import net from 'node:net';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { call, owners } from './http.js';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
let child: ChildProcess | undefined;

/** The `start` script's command line, with `node` as this Node binary. */
function startCommand(): { command: string; args: string[] } {
  const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8'));
  const [program, ...args] = String(pkg.scripts.start).split(/\s+/);
  expect(program).toBe('node');
  return { command: process.execPath, args };
}

/** Resolves once `pattern` matches the output so far (or rejects if the process exits first). */
function waitForOutput(proc: ChildProcess, output: () => string, pattern: RegExp) {
  return new Promise<RegExpMatchArray>((resolve, reject) => {
    const check = () => {
      const match = output().match(pattern);
      if (match) {
        proc.stdout?.off('data', check);
        proc.off('exit', onExit);
        resolve(match);
      }
    };
    const onExit = (code: number | null) =>
      reject(new Error(`exited with ${code} before printing ${pattern}:\n${output()}`));
    proc.stdout?.on('data', check);
    proc.once('exit', onExit);
    check();
  });
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

afterAll(() => {
  // Only if an assertion failed midway: do not leave the app (and its Postgres) running.
  if (child && child.exitCode === null) child.kill('SIGINT');
});

describe('pnpm start', () => {
  it('serves the page and the API, then stops everything on SIGINT with exit code 0', async () => {
    const env: NodeJS.ProcessEnv = { ...process.env, PORT: '0', ORM: 'drizzle' };
    for (const key of Object.keys(env)) {
      if (/^(PG|LAKEBASE_|DATABRICKS_)/.test(key)) delete env[key];
    }
    const { command, args } = startCommand();
    const proc = spawn(command, args, { cwd: root, env, stdio: ['ignore', 'pipe', 'pipe'] });
    child = proc;
    let stdout = '';
    let stderr = '';
    proc.stdout.setEncoding('utf8').on('data', (chunk: string) => {
      stdout += chunk;
    });
    proc.stderr.setEncoding('utf8').on('data', (chunk: string) => {
      stderr += chunk;
    });
    const exited = new Promise<number | null>((resolve) =>
      proc.once('exit', (code) => resolve(code)),
    );

    await waitForOutput(proc, () => stdout, /Press Ctrl\+C to stop\./);
    const url = stdout.match(/Orders app \(drizzle\): (http:\/\/127\.0\.0\.1:\d+\/)/)?.[1];
    const proxyPort = Number(stdout.match(/token proxy 127\.0\.0\.1:(\d+)/)?.[1]);
    const postgresPort = Number(stdout.match(/Postgres 127\.0\.0\.1:(\d+)/)?.[1]);
    const dataDir = stdout.match(/data dir: (\S+)/)?.[1];
    expect(url).toBeDefined();
    expect(dataDir && existsSync(join(dataDir, 'pgdata', 'postmaster.pid'))).toBe(true);

    const page = await call(url!, '/');
    expect(page.status).toBe(200);
    expect(page.text).toContain('<title>Orders');
    const all = await call(url!, '/api/orders');
    expect(all.status).toBe(200);
    expect(owners(all.body)).toEqual(
      expect.arrayContaining(['alice@example.com', 'bob@example.com']),
    );

    // The printed curl commands work: alice's headers show alice only her orders.
    const aliceBlock = stdout.split("# alice@example.com's orders")[1]!.split('\n\n')[0]!;
    const headers = Object.fromEntries(
      [...aliceBlock.matchAll(/-H '([^:]+): ([^']+)'/g)].map((m) => [m[1]!, m[2]!]),
    );
    expect(Object.keys(headers)).toContain('x-forwarded-access-token');
    const mine = await call(url!, '/api/my-orders', { headers });
    expect(mine.status).toBe(200);
    expect(owners(mine.body)).toEqual(['alice@example.com']);

    proc.kill('SIGINT');
    expect(await exited).toBe(0);
    expect(stderr).toContain('Stopped.');
    expect(existsSync(join(dataDir!, 'pgdata', 'postmaster.pid'))).toBe(false);
    expect(await portIsClosed(postgresPort)).toBe(true);
    expect(await portIsClosed(proxyPort)).toBe(true);
    expect(await portIsClosed(Number(new URL(url!).port))).toBe(true);
  });
});
