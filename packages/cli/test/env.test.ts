import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { type LocalLakebase, startLocalLakebase } from '@lakebase-kit/local';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const bin = fileURLToPath(new URL('../dist/bin.js', import.meta.url));
const pkgDir = fileURLToPath(new URL('..', import.meta.url));
const ALICE = 'alice@example.com';
const KEYS = [
  'PGHOST',
  'PGPORT',
  'PGDATABASE',
  'PGUSER',
  'PGPASSWORD',
  'PGSSLMODE',
  'DATABASE_URL',
];
let lb: LocalLakebase;
let home: string;

function run(command: string, args: string[], env: Record<string, string>) {
  return new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve) => {
    const child = spawn(command, args, {
      cwd: pkgDir,
      env: { PATH: process.env.PATH ?? '', HOME: home, ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk) => (stdout += chunk));
    child.stderr.on('data', (chunk) => (stderr += chunk));
    child.once('close', (code) => resolve({ code, stdout, stderr }));
  });
}
const cli = (args: string[], env: Record<string, string>) =>
  run(process.execPath, [bin, ...args], env);

async function currentUser(config: pg.ClientConfig): Promise<string> {
  const client = new pg.Client(config);
  await client.connect();
  try {
    return (await client.query('select current_user as u')).rows[0].u;
  } finally {
    await client.end();
  }
}

beforeAll(async () => {
  home = mkdtempSync(path.join(os.tmpdir(), 'lakebase-cli-env-'));
  lb = await startLocalLakebase({ users: [ALICE] });
});

afterAll(async () => {
  await lb?.stop();
  rmSync(home, { recursive: true, force: true });
});

describe('lakebase-kit env', () => {
  it('prints only export lines on stdout and a one-line secret warning on stderr', async () => {
    const { code, stdout, stderr } = await cli(['env'], lb.env);
    expect(code).toBe(0);
    const lines = stdout.trimEnd().split('\n');
    expect(lines.map((line) => /^export ([A-Z_]+)='[^']*'$/.exec(line)?.[1])).toEqual(KEYS);
    const vars = Object.fromEntries(
      lines.map(
        (line) => /^export ([A-Z_]+)='([^']*)'$/.exec(line)!.slice(1, 3) as [string, string],
      ),
    );
    expect(vars.PGHOST).toBe(lb.env.PGHOST);
    expect(vars.PGPORT).toBe(lb.env.PGPORT);
    expect(vars.PGDATABASE).toBe(lb.env.PGDATABASE);
    expect(vars.PGUSER).toBe(lb.env.PGUSER);
    expect(vars.PGSSLMODE).toBe('disable');
    expect(stderr.trimEnd().split('\n')).toHaveLength(1);
    expect(stderr).toMatch(/secret/);
    expect(stderr).not.toContain(vars.PGPASSWORD);

    const sp = lb.env.PGUSER;
    expect(
      await currentUser({
        host: vars.PGHOST,
        port: Number(vars.PGPORT),
        database: vars.PGDATABASE,
        user: vars.PGUSER,
        password: vars.PGPASSWORD,
      }),
    ).toBe(sp);
    expect(await currentUser({ connectionString: vars.DATABASE_URL })).toBe(sp);
  });

  it('works with eval in a real shell', async () => {
    const probe =
      "const pg=require('pg');const c=new pg.Client();c.connect()" +
      ".then(()=>c.query('select current_user as u')).then(r=>{console.log(r.rows[0].u);return c.end()})";
    const script = `eval "$("${process.execPath}" "${bin}" env 2>/dev/null)" && "${process.execPath}" -e "${probe}"`;
    const { code, stdout } = await run('/bin/sh', ['-c', script], lb.env);
    expect(code).toBe(0);
    expect(stdout.trim()).toBe(lb.env.PGUSER);
  });

  it('resolves a user identity with SCIM and URL-encodes it in DATABASE_URL', async () => {
    const env = {
      DATABRICKS_HOST: lb.env.DATABRICKS_HOST,
      DATABRICKS_TOKEN: lb.userToken(ALICE),
      LAKEBASE_ENDPOINT: lb.env.LAKEBASE_ENDPOINT,
      PGHOST: lb.env.PGHOST,
      PGPORT: lb.env.PGPORT,
      PGDATABASE: lb.env.PGDATABASE,
      PGSSLMODE: 'disable',
    };
    const { code, stdout } = await cli(['env', '--format', 'json'], env);
    expect(code).toBe(0);
    const vars = JSON.parse(stdout) as Record<string, string>;
    expect(Object.keys(vars)).toEqual(KEYS);
    expect(vars.PGUSER).toBe(ALICE);
    expect(vars.DATABASE_URL).toContain('alice%40example.com:');
    expect(await currentUser({ connectionString: vars.DATABASE_URL })).toBe(ALICE);
  });

  it('--format dotenv prints KEY="value" lines', async () => {
    const { code, stdout } = await cli(['env', '--format', 'dotenv'], lb.env);
    expect(code).toBe(0);
    const lines = stdout.trimEnd().split('\n');
    expect(lines.map((line) => /^([A-Z_]+)="[^"]*"$/.exec(line)?.[1])).toEqual(KEYS);
    const url = /^DATABASE_URL="(.*)"$/m.exec(stdout)![1]!;
    expect(await currentUser({ connectionString: url })).toBe(lb.env.PGUSER);
  });

  it('flags override the environment', async () => {
    const { code, stdout } = await cli(
      ['env', '--format', 'json', '--user', ALICE, '--sslmode', 'require', '--port', '6543'],
      lb.env,
    );
    expect(code).toBe(0);
    const vars = JSON.parse(stdout) as Record<string, string>;
    expect(vars.PGUSER).toBe(ALICE);
    expect(vars.PGSSLMODE).toBe('require');
    expect(vars.PGPORT).toBe('6543');
    expect(vars.DATABASE_URL).toMatch(/@127\.0\.0\.1:6543\/databricks_postgres\?sslmode=require$/);
  });

  it('fails with one line and exit 2 on bad config; usage errors show the help', async () => {
    const { PGHOST: _, ...noHost } = lb.env;
    const missing = await cli(['env'], noHost);
    expect(missing.code).toBe(2);
    expect(missing.stdout).toBe('');
    expect(missing.stderr.trimEnd().split('\n')).toHaveLength(1);
    expect(missing.stderr).toContain('PGHOST');

    const badPort = await cli(['env', '--port', 'abc'], lb.env);
    expect(badPort.code).toBe(2);
    expect(badPort.stderr.trimEnd().split('\n')).toHaveLength(1);
    expect(badPort.stderr).toContain('Invalid port "abc"');

    const badFormat = await cli(['env', '--format', 'xml'], lb.env);
    expect(badFormat.code).toBe(2);
    expect(badFormat.stdout).toBe('');
    expect(badFormat.stderr).toContain('Usage: lakebase-kit env');
  });

  it('--help documents the command (exit 0)', async () => {
    const { code, stdout } = await cli(['env', '--help'], {});
    expect(code).toBe(0);
    expect(stdout).toContain('Usage: lakebase-kit env');
    expect(stdout).toContain('--format');
  });
});
