import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { type LocalLakebase, startLocalLakebase } from '@lakebase-kit/local';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const bin = fileURLToPath(new URL('../dist/bin.js', import.meta.url));
// Children run here, so `require('pg')` in `node -e` finds this package's pg.
const pkgDir = fileURLToPath(new URL('..', import.meta.url));
const ALICE = 'alice@example.com';
const WHOAMI =
  "const pg=require('pg');const c=new pg.Client();c.connect()" +
  ".then(()=>c.query('select current_user as u')).then(r=>{console.log(r.rows[0].u);return c.end()})" +
  '.catch(e=>{console.error(e.code||e.message);process.exit(3)})';
const WHOAMI_URL = WHOAMI.replace('new pg.Client()', 'new pg.Client(process.env.DATABASE_URL)');
let lb: LocalLakebase;
let home: string;

function start(args: string[], env: Record<string, string>) {
  const child = spawn(process.execPath, [bin, ...args], {
    cwd: pkgDir,
    env: { PATH: process.env.PATH ?? '', HOME: home, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const out = { stdout: '', stderr: '' };
  child.stdout!.on('data', (chunk) => (out.stdout += chunk));
  child.stderr!.on('data', (chunk) => (out.stderr += chunk));
  const done = new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve) =>
    child.once('close', (code) => resolve({ code, ...out })),
  );
  return { child, out, done };
}
const cli = (args: string[], env: Record<string, string>) => start(args, env).done;

function waitFor(child: ChildProcess, out: { stdout: string }, text: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const check = () => {
      if (out.stdout.includes(text)) resolve();
    };
    child.stdout!.on('data', check);
    child.once('close', () => reject(new Error(`exited before printing "${text}"`)));
    check();
  });
}

beforeAll(async () => {
  home = mkdtempSync(path.join(os.tmpdir(), 'lakebase-cli-exec-'));
  lb = await startLocalLakebase({ users: [ALICE] });
});

afterAll(async () => {
  await lb?.stop();
  rmSync(home, { recursive: true, force: true });
});

describe('lakebase-kit exec', () => {
  it('runs the command with PG* variables: it connects as the service principal', async () => {
    const { code, stdout, stderr } = await cli(['exec', '--', 'node', '-e', WHOAMI], lb.env);
    expect(stderr).toBe('');
    expect(code).toBe(0);
    expect(stdout).toBe(`${lb.env.PGUSER}\n`);

    const viaUrl = await cli(['exec', '--', 'node', '-e', WHOAMI_URL], lb.env);
    expect(viaUrl.code).toBe(0);
    expect(viaUrl.stdout).toBe(`${lb.env.PGUSER}\n`);
  });

  it('runs as the current identity: a user with DATABRICKS_TOKEN connects as the user', async () => {
    const env = {
      DATABRICKS_HOST: lb.env.DATABRICKS_HOST,
      DATABRICKS_TOKEN: lb.userToken(ALICE),
      LAKEBASE_ENDPOINT: lb.env.LAKEBASE_ENDPOINT,
      PGHOST: lb.env.PGHOST,
      PGPORT: lb.env.PGPORT,
      PGDATABASE: lb.env.PGDATABASE,
      PGSSLMODE: 'disable',
    };
    const { code, stdout } = await cli(['exec', 'node', '-e', WHOAMI], env);
    expect(code).toBe(0);
    expect(stdout).toBe(`${ALICE}\n`);
  });

  it('forwards the exit code', async () => {
    expect((await cli(['exec', '--', 'node', '-e', 'process.exit(7)'], lb.env)).code).toBe(7);
    expect((await cli(['exec', '--', 'node', '-e', 'process.exit(0)'], lb.env)).code).toBe(0);
  });

  for (const signal of ['SIGTERM', 'SIGINT'] as const) {
    it(`forwards ${signal} to the command and exits with its code`, async () => {
      const script =
        `process.on('${signal}',()=>{console.log('got ${signal}');process.exit(42)});` +
        "console.log('ready');setInterval(()=>{},1000)";
      const run = start(['exec', '--', 'node', '-e', script], lb.env);
      await waitFor(run.child, run.out, 'ready');
      run.child.kill(signal);
      const { code, stdout } = await run.done;
      expect(stdout).toBe(`ready\ngot ${signal}\n`);
      expect(code).toBe(42);
    });
  }

  it('exits 128 + n when the command dies of signal n', async () => {
    const { code } = await cli(
      ['exec', '--', 'node', '-e', "process.kill(process.pid,'SIGKILL')"],
      lb.env,
    );
    expect(code).toBe(128 + 9);
  });

  it('exits 127 when the command does not exist', async () => {
    const { code, stderr } = await cli(['exec', '--', 'no-such-command-lakebase'], lb.env);
    expect(code).toBe(127);
    expect(stderr).toContain('command not found');
  });

  it('fails with exit 2 and one line before running anything when no token can be had', async () => {
    const marker = path.join(home, 'ran');
    const touch = `require('fs').writeFileSync(${JSON.stringify(marker)},'x')`;
    const { code, stdout, stderr } = await cli(['exec', '--', 'node', '-e', touch], {
      ...lb.env,
      LAKEBASE_ENDPOINT: 'projects/local/branches/main/endpoints/missing',
    });
    expect(code).toBe(2);
    expect(stdout).toBe('');
    expect(stderr.trimEnd().split('\n')).toHaveLength(1);
    expect(stderr).toContain('HTTP 404 NOT_FOUND');
    expect(existsSync(marker)).toBe(false);
  });

  it('without a command → usage, exit 2; --help → exit 0', async () => {
    const none = await cli(['exec'], lb.env);
    expect(none.code).toBe(2);
    expect(none.stderr).toContain('Usage: lakebase-kit exec');
    const help = await cli(['exec', '--help'], {});
    expect(help.code).toBe(0);
    expect(help.stdout).toContain('Usage: lakebase-kit exec');
  });
});
