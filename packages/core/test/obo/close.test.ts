import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { mkdtempSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { type LocalLakebase, startLocalLakebase } from '@lakebase-kit/local';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { ClosedError } from '../../src/base/errors.js';
import { createLakebase } from '../../src/lakebase.js';
import { ALICE, BOB, capturingLogger, headersFor } from '../support/obo-helpers.js';

const packageDir = resolve(import.meta.dirname, '..', '..');
const distEntry = join(packageDir, 'dist', 'index.js');
let lb: LocalLakebase;

/** Builds the package when dist is missing or older than a source file. */
function ensureBuilt(): void {
  const srcDir = join(packageDir, 'src');
  const newestSource = Math.max(
    ...readdirSync(srcDir, { recursive: true, encoding: 'utf8' }).map(
      (name) => statSync(join(srcDir, name)).mtimeMs,
    ),
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
  // (the SP may SET ROLE to alice and bob: the set-role and auto modes below)
  lb = await startLocalLakebase({ users: [ALICE, BOB], grantSetRole: true });
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
    // accepted but not yet running: a brand-new token still being verified
    const cold = lakebase.asUser(headersFor(lb, ALICE)).query('select current_user as who');

    const closing = lakebase.close();
    expect(lakebase.close()).toBe(closing);
    expect(lakebase.closed).toBe(true);
    const [results, coldResult] = await Promise.all([Promise.allSettled(running), cold]);
    await closing;

    // nothing accepted is lost: running and cold work both finish, as their user
    expect(results.map((r) => r.status)).toEqual(['fulfilled', 'fulfilled', 'fulfilled']);
    expect(coldResult.rows[0].who).toBe(ALICE);
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

  for (const mode of ['set-role', 'auto'] as const) {
    it(`${mode}: work accepted while its token is being verified runs as the user after close()`, async () => {
      const lakebase = createLakebase({
        env: lb.env,
        logger: capturingLogger(),
        userPools: { mode },
      });
      // a brand-new token: the query waits for its verification, then runs on the SP's pool
      const cold = [ALICE, BOB].map((email) =>
        lakebase.asUser(headersFor(lb, email)).query('select current_user as who'),
      );
      const closing = lakebase.close();
      const answers = await Promise.allSettled(cold);
      await closing;
      expect(
        answers.map((a) => (a.status === 'fulfilled' ? a.value.rows[0].who : a.reason)),
      ).toEqual([ALICE, BOB]);
      await expect(lakebase.query('select 1')).rejects.toBeInstanceOf(ClosedError);
      expect(lakebase.stats().sp.totalCount).toBe(0);
    });
  }

  it('queries queued on the SP pool when close() is called all run, and later ones get ClosedError', async () => {
    const lakebase = createLakebase({ env: lb.env, max: 1, logger: capturingLogger() });
    const held = await lakebase.pool.connect();
    const queued = Array.from({ length: 5 }, (_, i) => lakebase.query('select $1::int as i', [i]));
    await vi.waitFor(() => expect(lakebase.pool.waitingCount).toBe(5));
    const closing = lakebase.close();
    await expect(lakebase.query('select 1')).rejects.toBeInstanceOf(ClosedError);
    held.release();
    const results = await Promise.all(queued);
    expect(results.map((r) => r.rows[0].i)).toEqual([0, 1, 2, 3, 4]);
    await closing;
    expect(lakebase.stats().sp.totalCount).toBe(0);
  });

  it('a process that used the built package exits on its own after close()', async () => {
    ensureBuilt();
    const { exit, stdout, stderr } = await runChild(
      `const lakebase = createLakebase({ env, userPools: { idleTimeoutMillis: 600000 }, idleTimeoutMillis: 600000 });
const sp = await lakebase.query('select current_user as who');
const scope = lakebase.asUser(JSON.parse(process.env.LB_HEADERS));
const user = await scope.query('select current_user as who');
const client = await scope.pool.connect();
client.release();
await lakebase.close();
console.log(JSON.stringify({ sp: sp.rows[0].who, user: user.rows[0].who }));`,
      { LB_HEADERS: JSON.stringify(headersFor(lb, BOB)) },
    );
    // Idle connections would keep it alive for 10 minutes: exiting at all proves close() cleaned up.
    expect(exit, stderr).toBe(0);
    expect(JSON.parse(stdout.trim())).toEqual({ sp: lb.servicePrincipal.clientId, user: BOB });
    expect(`${stdout}${stderr}`).not.toMatch(/lbk_/);
    await vi.waitFor(() => expect(lb.stats().openConnections).toBe(0));
  }, 90_000);

  it('while the credential API hangs, close() fails the waiting queries and the process exits on its own', async () => {
    ensureBuilt();
    lb.faults.credentialLatency(600_000); // every credential call hangs for 10 minutes
    try {
      const { exit, stdout, stderr } = await runChild(
        `const lakebase = createLakebase({ env, connectionTimeoutMillis: 1500 });
// one query waits for the SP's first token, the other for alice's: both calls hang
const waiting = [
  lakebase.query('select 1').then(() => 'ok', (e) => e.name),
  lakebase.asUser(JSON.parse(process.env.LB_HEADERS)).query('select 1').then(() => 'ok', (e) => e.name),
];
// the parent says when both credential calls are held by the local Lakebase
await new Promise((resolve) => process.stdin.once('data', resolve));
await lakebase.close();
console.log(JSON.stringify({ results: await Promise.all(waiting) }));`,
        { LB_HEADERS: JSON.stringify(headersFor(lb, ALICE)) },
        async (child) => {
          await vi.waitFor(() => expect(lb.stats().heldCredentialAnswers).toBe(2), {
            timeout: 20_000,
          });
          child.stdin?.end('go\n');
        },
      );
      expect(exit, stderr).toBe(0);
      const { results } = JSON.parse(stdout.trim());
      // the accepted queries were not dropped: they failed with a typed error at their deadline;
      // and the process exited by itself, though both calls would hang for 10 minutes
      expect(results).toEqual(['CredentialError', 'CredentialError']);
      expect(`${stdout}${stderr}`).not.toMatch(/lbk_/);
    } finally {
      lb.faults.credentialLatency(0);
    }
  }, 90_000);
});

/** Runs `body` as an ES module (with `createLakebase` and `env` in scope) in a child process. */
async function runChild(
  body: string,
  extraEnv: Record<string, string>,
  drive?: (child: ChildProcess) => Promise<void>,
) {
  const dir = mkdtempSync(join(tmpdir(), 'lakebase-obo-'));
  try {
    const script = join(dir, 'app.mjs');
    writeFileSync(
      script,
      `import { createLakebase } from ${JSON.stringify(pathToFileURL(distEntry).href)};
const env = JSON.parse(process.env.LB_ENV);
${body}
`,
    );
    const child = spawn(process.execPath, [script], {
      env: { PATH: process.env.PATH, LB_ENV: JSON.stringify(lb.env), ...extraEnv },
      stdio: [drive ? 'pipe' : 'ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout?.on('data', (chunk) => {
      stdout += chunk;
    });
    child.stderr?.on('data', (chunk) => {
      stderr += chunk;
    });
    const exited = new Promise<number | string>((resolveExit) => {
      const guard = setTimeout(() => {
        child.kill('SIGKILL');
        resolveExit('still running 30 s after close(): a timer or socket was left behind');
      }, 30_000);
      child.on('exit', (code) => {
        clearTimeout(guard);
        resolveExit(code ?? -1);
      });
    });
    await drive?.(child);
    const exit = await exited;
    return { exit, stdout, stderr };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
