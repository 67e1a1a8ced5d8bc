import { execFileSync, spawn } from 'node:child_process';
import { mkdtempSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { type LocalLakebase, startLocalLakebase } from '@lakebase-kit/local';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { ClosedError } from '../src/errors.js';
import { createLakebase } from '../src/lakebase.js';
import { ALICE, BOB, capturingLogger, headersFor } from './obo-helpers.js';

const packageDir = resolve(import.meta.dirname, '..');
const distEntry = join(packageDir, 'dist', 'index.js');
let lb: LocalLakebase;

/** Builds the package when dist is missing or older than a source file. */
function ensureBuilt(): void {
  const srcDir = join(packageDir, 'src');
  const newestSource = Math.max(
    ...readdirSync(srcDir).map((name) => statSync(join(srcDir, name)).mtimeMs),
  );
  let built = 0;
  try {
    built = statSync(distEntry).mtimeMs;
  } catch {
    built = 0;
  }
  if (built < newestSource) execFileSync('pnpm', ['build'], { cwd: packageDir, stdio: 'ignore' });
}

beforeAll(async () => {
  lb = await startLocalLakebase({ users: [ALICE, BOB] });
}, 60_000);

afterAll(async () => {
  await lb?.stop();
});

describe('close()', () => {
  it('is safe with queries in flight, idempotent, and leaves 0 connections', async () => {
    const logger = capturingLogger();
    const lakebase = createLakebase({ env: lb.env, logger });
    const alice = lakebase.asUser(headersFor(lb, ALICE));
    const bob = lakebase.asUser(headersFor(lb, BOB));
    await Promise.all([alice.query('select 1'), bob.query('select 1'), lakebase.query('select 1')]);
    let closeEvents = 0;
    alice.onClose(() => closeEvents++);
    bob.onClose(() => closeEvents++);

    // running queries: already on a connection when close() is called
    const running = [
      alice.query('select pg_sleep(0.3), current_user as who'),
      bob.pool.query('select pg_sleep(0.3), current_user as who'),
      lakebase.query('select pg_sleep(0.3), current_user as who'),
    ];
    await vi.waitFor(() => expect(lakebase.stats().users.idleConnections).toBe(0));
    // not yet running: a brand-new token still being verified
    const cold = lakebase.asUser(headersFor(lb, ALICE)).query('select 1');

    const closing = lakebase.close();
    expect(lakebase.close()).toBe(closing);
    expect(lakebase.closed).toBe(true);
    const [results, coldResult] = await Promise.all([
      Promise.allSettled(running),
      cold.then(
        () => 'ok',
        (e) => e,
      ),
    ]);
    await closing;

    expect(results.map((r) => r.status)).toEqual(['fulfilled', 'fulfilled', 'fulfilled']);
    expect(coldResult).toBeInstanceOf(ClosedError);
    expect(closeEvents).toBe(2);
    await expect(alice.query('select 1')).rejects.toBeInstanceOf(ClosedError);
    await expect(alice.pool.query('select 1')).rejects.toBeInstanceOf(ClosedError);
    await expect(lakebase.query('select 1')).rejects.toBeInstanceOf(ClosedError);
    expect(() => lakebase.asUser(headersFor(lb, ALICE))).toThrow(ClosedError);
    await lakebase.close(); // again: a no-op

    await vi.waitFor(() => expect(lb.stats().openConnections).toBe(0));
    const stats = lakebase.stats();
    expect(stats.users.connections).toBe(0);
    expect(stats.users.pools).toBe(0);
    expect(stats.sp.totalCount).toBe(0);
    expect(logger.lines.join('\n')).not.toMatch(/lbk_/);
  });

  it('a process that used the built package exits on its own after close()', async () => {
    ensureBuilt();
    const dir = mkdtempSync(join(tmpdir(), 'lakebase-obo-'));
    try {
      const script = join(dir, 'app.mjs');
      writeFileSync(
        script,
        `import { createLakebase } from ${JSON.stringify(pathToFileURL(distEntry).href)};
const env = JSON.parse(process.env.LB_ENV);
const lakebase = createLakebase({ env, userPools: { idleTimeoutMillis: 600000 }, idleTimeoutMillis: 600000 });
const sp = await lakebase.query('select current_user as who');
const scope = lakebase.asUser(JSON.parse(process.env.LB_HEADERS));
const user = await scope.query('select current_user as who');
const client = await scope.pool.connect();
client.release();
await lakebase.close();
console.log(JSON.stringify({ sp: sp.rows[0].who, user: user.rows[0].who }));
`,
      );
      const child = spawn(process.execPath, [script], {
        env: {
          PATH: process.env.PATH,
          LB_ENV: JSON.stringify(lb.env),
          LB_HEADERS: JSON.stringify(headersFor(lb, BOB)),
        },
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      let stdout = '';
      let stderr = '';
      child.stdout.on('data', (chunk) => {
        stdout += chunk;
      });
      child.stderr.on('data', (chunk) => {
        stderr += chunk;
      });
      // Idle connections would keep it alive for 10 minutes: exiting at all proves close() cleaned up.
      const exit = await new Promise<number | string>((resolveExit) => {
        const guard = setTimeout(() => {
          child.kill('SIGKILL');
          resolveExit('still running 30 s after close(): a timer or socket was left behind');
        }, 30_000);
        child.on('exit', (code) => {
          clearTimeout(guard);
          resolveExit(code ?? -1);
        });
      });
      expect(exit, stderr).toBe(0);
      expect(JSON.parse(stdout.trim())).toEqual({ sp: lb.servicePrincipal.clientId, user: BOB });
      expect(`${stdout}${stderr}`).not.toMatch(/lbk_/);
      await vi.waitFor(() => expect(lb.stats().openConnections).toBe(0));
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }, 90_000);
});
