import { describe, expect, it } from 'vitest';
import { ALICE, currentUser, devEnv, loginConfig, runCli, useCliWorld } from './harness.js';

const world = useCliWorld();
const cli = (args: string[], env: Record<string, string>) => runCli(world, args, env);
const loginAs = (user: string, password: string) => currentUser(loginConfig(world, user, password));

describe('lakebase-kit token', () => {
  it('prints a fresh token of the service principal, and nothing else, on stdout', async () => {
    const before = world.lb.stats().credentialCalls[world.lb.servicePrincipal.clientId] ?? 0;
    const { code, stdout, stderr } = await cli(['token'], world.lb.env);
    expect(stderr).toBe('');
    expect(code).toBe(0);
    expect(stdout).toMatch(/^\S+\n$/);
    expect(world.lb.stats().credentialCalls[world.lb.servicePrincipal.clientId]).toBe(before + 1);
    expect(await loginAs(world.lb.env.PGUSER, stdout.trim())).toBe(world.lb.env.PGUSER);

    const again = await cli(['token'], world.lb.env);
    expect(again.stdout.trim()).not.toBe(stdout.trim());
  });

  it('mints for the current identity: a user authenticated with DATABRICKS_TOKEN gets theirs', async () => {
    const env = {
      DATABRICKS_HOST: world.lb.env.DATABRICKS_HOST,
      DATABRICKS_TOKEN: world.lb.userToken(ALICE),
      LAKEBASE_ENDPOINT: world.lb.env.LAKEBASE_ENDPOINT,
    };
    const { code, stdout } = await cli(['token'], env);
    expect(code).toBe(0);
    expect(await loginAs(ALICE, stdout.trim())).toBe(ALICE);
    await expect(loginAs(world.lb.env.PGUSER, stdout.trim())).rejects.toMatchObject({
      code: '28P01',
    });
  });

  it('--user acts as a user of lakebase-kit dev (its env file has the token), SP env or not', async () => {
    // The shell has dev's env file loaded: the SP's client id/secret and PGUSER, plus user tokens.
    const { code, stdout, stderr } = await cli(['token', '--user', ALICE], devEnv(world, [ALICE]));
    expect(stderr).toBe('');
    expect(code).toBe(0);
    expect(await loginAs(ALICE, stdout.trim())).toBe(ALICE);
  });

  it('a DATABRICKS_TOKEN next to the SP client id/secret wins (no "oauth and pat" refusal)', async () => {
    const env = { ...world.lb.env, DATABRICKS_TOKEN: world.lb.userToken(ALICE) };
    const { code, stdout, stderr } = await cli(['token'], env);
    expect(stderr).toBe('');
    expect(code).toBe(0);
    expect(await loginAs(ALICE, stdout.trim())).toBe(ALICE);
  });

  it('--user that the identity cannot log in as: exit 2 naming both, before any token is printed', async () => {
    const { code, stdout, stderr } = await cli(['token', '--user', ALICE], world.lb.env);
    expect(code).toBe(2);
    expect(stdout).toBe('');
    expect(stderr.trimEnd().split('\n')).toHaveLength(1);
    expect(stderr).toContain(`--user ${ALICE}: the Databricks identity is ${world.lb.env.PGUSER}`);
    expect(stderr).not.toMatch(/lbk_(pg|at)_/);
  });

  it('--json prints {token, expire_time}', async () => {
    const { code, stdout } = await cli(['token', '--json'], world.lb.env);
    expect(code).toBe(0);
    const parsed = JSON.parse(stdout) as { token: string; expire_time: string };
    expect(Object.keys(parsed).sort()).toEqual(['expire_time', 'token']);
    expect(Date.parse(parsed.expire_time)).toBeGreaterThan(Date.now());
    expect(await loginAs(world.lb.env.PGUSER, parsed.token)).toBe(world.lb.env.PGUSER);
  });

  it('--help documents the command (exit 0)', async () => {
    const { code, stdout } = await cli(['token', '--help'], {});
    expect(code).toBe(0);
    expect(stdout).toContain('Usage: lakebase-kit token');
    expect(stdout).toContain('--endpoint');
  });

  it('fails with one line and exit 2: no endpoint', async () => {
    const { LAKEBASE_ENDPOINT: _, ...env } = world.lb.env;
    const { code, stdout, stderr } = await cli(['token'], env);
    expect(code).toBe(2);
    expect(stdout).toBe('');
    expect(stderr.trimEnd().split('\n')).toHaveLength(1);
    expect(stderr).toContain('LAKEBASE_ENDPOINT');
  });

  it('fails with one line and exit 2: no auth, wrong secret', async () => {
    const none = await cli(['token'], { LAKEBASE_ENDPOINT: world.lb.env.LAKEBASE_ENDPOINT });
    expect(none.code).toBe(2);
    expect(none.stdout).toBe('');
    expect(none.stderr.trimEnd().split('\n')).toHaveLength(1);
    expect(none.stderr).toContain('default credentials');

    const wrong = await cli(['token'], {
      ...world.lb.env,
      DATABRICKS_CLIENT_SECRET: 'not-the-secret',
    });
    expect(wrong.code).toBe(2);
    expect(wrong.stdout).toBe('');
    expect(wrong.stderr.trimEnd().split('\n')).toHaveLength(1);
    expect(wrong.stderr).not.toContain('not-the-secret');
  });

  it('fails with one line and exit 2 on an API error; --verbose adds the stack', async () => {
    world.lb.faults.credentials({
      status: 403,
      errorCode: 'PERMISSION_DENIED',
      message: 'no access',
    });
    try {
      const { code, stdout, stderr } = await cli(['token'], world.lb.env);
      expect(code).toBe(2);
      expect(stdout).toBe('');
      expect(stderr.trimEnd().split('\n')).toHaveLength(1);
      expect(stderr).toMatch(/^lakebase-kit token: .*HTTP 403 PERMISSION_DENIED: no access/);
      expect(stderr).not.toContain('    at ');

      const verbose = await cli(['token', '--verbose'], world.lb.env);
      expect(verbose.code).toBe(2);
      expect(verbose.stderr.split('\n')[0]).toContain('HTTP 403 PERMISSION_DENIED');
      expect(verbose.stderr).toContain('CredentialError [LAKEBASE_CREDENTIAL]');
      expect(verbose.stderr).toMatch(/\n {4}at /);
      expect(verbose.stderr).not.toContain(world.lb.servicePrincipal.clientSecret);
    } finally {
      world.lb.faults.credentials(null);
    }
  });

  it('rejects unknown options with the usage (exit 2)', async () => {
    const { code, stdout, stderr } = await cli(['token', '--nope'], world.lb.env);
    expect(code).toBe(2);
    expect(stdout).toBe('');
    expect(stderr).toContain('Usage: lakebase-kit token');
  });
});
