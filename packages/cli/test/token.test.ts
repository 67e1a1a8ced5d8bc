import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { type LocalLakebase, startLocalLakebase } from '@lakebase-kit/local';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const bin = fileURLToPath(new URL('../dist/bin.js', import.meta.url));
const ALICE = 'alice@example.com';
let lb: LocalLakebase;
let home: string;

/** Runs the built `lakebase-kit` with exactly `env` (plus PATH and an empty HOME). */
function cli(args: string[], env: Record<string, string>) {
  return new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve) => {
    const child = spawn(process.execPath, [bin, ...args], {
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

async function loginAs(user: string, password: string): Promise<string> {
  const client = new pg.Client({
    host: lb.env.PGHOST,
    port: Number(lb.env.PGPORT),
    database: lb.env.PGDATABASE,
    user,
    password,
  });
  await client.connect();
  try {
    return (await client.query('select current_user as u')).rows[0].u;
  } finally {
    await client.end();
  }
}

beforeAll(async () => {
  // An empty HOME: no ~/.databrickscfg of the machine leaks into the SDK's default auth.
  home = mkdtempSync(path.join(os.tmpdir(), 'lakebase-cli-token-'));
  lb = await startLocalLakebase({ users: [ALICE] });
});

afterAll(async () => {
  await lb?.stop();
  rmSync(home, { recursive: true, force: true });
});

describe('lakebase-kit token', () => {
  it('prints a fresh token of the service principal, and nothing else, on stdout', async () => {
    const before = lb.stats().credentialCalls[lb.servicePrincipal.clientId] ?? 0;
    const { code, stdout, stderr } = await cli(['token'], lb.env);
    expect(stderr).toBe('');
    expect(code).toBe(0);
    expect(stdout).toMatch(/^\S+\n$/);
    expect(lb.stats().credentialCalls[lb.servicePrincipal.clientId]).toBe(before + 1);
    expect(await loginAs(lb.env.PGUSER, stdout.trim())).toBe(lb.env.PGUSER);

    const again = await cli(['token'], lb.env);
    expect(again.stdout.trim()).not.toBe(stdout.trim());
  });

  it('mints for the current identity: a user authenticated with DATABRICKS_TOKEN gets theirs', async () => {
    const env = {
      DATABRICKS_HOST: lb.env.DATABRICKS_HOST,
      DATABRICKS_TOKEN: lb.userToken(ALICE),
      LAKEBASE_ENDPOINT: lb.env.LAKEBASE_ENDPOINT,
    };
    const { code, stdout } = await cli(['token'], env);
    expect(code).toBe(0);
    expect(await loginAs(ALICE, stdout.trim())).toBe(ALICE);
    await expect(loginAs(lb.env.PGUSER, stdout.trim())).rejects.toMatchObject({ code: '28P01' });
  });

  it('--json prints {token, expire_time}', async () => {
    const { code, stdout } = await cli(['token', '--json'], lb.env);
    expect(code).toBe(0);
    const parsed = JSON.parse(stdout) as { token: string; expire_time: string };
    expect(Object.keys(parsed).sort()).toEqual(['expire_time', 'token']);
    expect(Date.parse(parsed.expire_time)).toBeGreaterThan(Date.now());
    expect(await loginAs(lb.env.PGUSER, parsed.token)).toBe(lb.env.PGUSER);
  });

  it('--help documents the command (exit 0)', async () => {
    const { code, stdout } = await cli(['token', '--help'], {});
    expect(code).toBe(0);
    expect(stdout).toContain('Usage: lakebase-kit token');
    expect(stdout).toContain('--endpoint');
  });

  it('fails with one line and exit 2: no endpoint', async () => {
    const { LAKEBASE_ENDPOINT: _, ...env } = lb.env;
    const { code, stdout, stderr } = await cli(['token'], env);
    expect(code).toBe(2);
    expect(stdout).toBe('');
    expect(stderr.trimEnd().split('\n')).toHaveLength(1);
    expect(stderr).toContain('LAKEBASE_ENDPOINT');
  });

  it('fails with one line and exit 2: no auth, wrong secret', async () => {
    const none = await cli(['token'], { LAKEBASE_ENDPOINT: lb.env.LAKEBASE_ENDPOINT });
    expect(none.code).toBe(2);
    expect(none.stdout).toBe('');
    expect(none.stderr.trimEnd().split('\n')).toHaveLength(1);
    expect(none.stderr).toContain('default credentials');

    const wrong = await cli(['token'], { ...lb.env, DATABRICKS_CLIENT_SECRET: 'not-the-secret' });
    expect(wrong.code).toBe(2);
    expect(wrong.stdout).toBe('');
    expect(wrong.stderr.trimEnd().split('\n')).toHaveLength(1);
    expect(wrong.stderr).not.toContain('not-the-secret');
  });

  it('fails with one line and exit 2 on an API error; --verbose adds the stack', async () => {
    lb.faults.credentials({ status: 403, errorCode: 'PERMISSION_DENIED', message: 'no access' });
    try {
      const { code, stdout, stderr } = await cli(['token'], lb.env);
      expect(code).toBe(2);
      expect(stdout).toBe('');
      expect(stderr.trimEnd().split('\n')).toHaveLength(1);
      expect(stderr).toMatch(/^lakebase-kit token: .*HTTP 403 PERMISSION_DENIED: no access/);
      expect(stderr).not.toContain('    at ');

      const verbose = await cli(['token', '--verbose'], lb.env);
      expect(verbose.code).toBe(2);
      expect(verbose.stderr.split('\n')[0]).toContain('HTTP 403 PERMISSION_DENIED');
      expect(verbose.stderr).toContain('CredentialError [LAKEBASE_CREDENTIAL]');
      expect(verbose.stderr).toMatch(/\n {4}at /);
      expect(verbose.stderr).not.toContain(lb.servicePrincipal.clientSecret);
    } finally {
      lb.faults.credentials(null);
    }
  });

  it('rejects unknown options with the usage (exit 2)', async () => {
    const { code, stdout, stderr } = await cli(['token', '--nope'], lb.env);
    expect(code).toBe(2);
    expect(stdout).toBe('');
    expect(stderr).toContain('Usage: lakebase-kit token');
  });
});
