import { describe, expect, it } from 'vitest';
import {
  ALICE,
  bin,
  currentUser,
  devEnv,
  loginConfig,
  runCli,
  startProcess,
  useCliWorld,
} from './harness.js';

const KEYS = [
  'PGHOST',
  'PGPORT',
  'PGDATABASE',
  'PGUSER',
  'PGPASSWORD',
  'PGSSLMODE',
  'PGSSLROOTCERT',
  'DATABASE_URL',
];
const BOB = 'bob@example.com';
const world = useCliWorld();
const cli = (args: string[], env: Record<string, string>) => runCli(world, args, env);

describe('lakebase-kit env', () => {
  it('prints only export lines on stdout and a one-line secret warning on stderr', async () => {
    const { code, stdout, stderr } = await cli(['env'], world.lb.env);
    expect(code).toBe(0);
    const lines = stdout.trimEnd().split('\n');
    expect(lines.map((line) => /^export ([A-Z_]+)='[^']*'$/.exec(line)?.[1])).toEqual(KEYS);
    const vars = Object.fromEntries(
      lines.map(
        (line) => /^export ([A-Z_]+)='([^']*)'$/.exec(line)!.slice(1, 3) as [string, string],
      ),
    );
    expect(vars.PGHOST).toBe(world.lb.env.PGHOST);
    expect(vars.PGPORT).toBe(world.lb.env.PGPORT);
    expect(vars.PGDATABASE).toBe(world.lb.env.PGDATABASE);
    expect(vars.PGUSER).toBe(world.lb.env.PGUSER);
    expect(vars.PGSSLMODE).toBe('require');
    expect(vars.PGSSLROOTCERT).toBe(world.lb.tls!.caFile);
    expect(stderr.trimEnd().split('\n')).toHaveLength(1);
    expect(stderr).toMatch(/secret/);
    expect(stderr).not.toContain(vars.PGPASSWORD);

    const sp = world.lb.env.PGUSER;
    expect(await currentUser(loginConfig(world, vars.PGUSER!, vars.PGPASSWORD!))).toBe(sp);
    // The URL carries the CA (sslrootcert): node-postgres verifies the local Lakebase with it.
    expect(vars.DATABASE_URL).toContain(`&sslrootcert=${encodeURIComponent(world.lb.tls!.caFile)}`);
    expect(await currentUser({ connectionString: vars.DATABASE_URL })).toBe(sp);
  });

  it('works with eval in a real shell', async () => {
    const probe =
      "const pg=require('pg');const c=new pg.Client(process.env.DATABASE_URL);c.connect()" +
      ".then(()=>c.query('select current_user as u')).then(r=>{console.log(r.rows[0].u);return c.end()})";
    const script = `eval "$("${process.execPath}" "${bin}" env 2>/dev/null)" && "${process.execPath}" -e "${probe}"`;
    const { code, stdout } = await startProcess(world, '/bin/sh', ['-c', script], world.lb.env)
      .done;
    expect(code).toBe(0);
    expect(stdout.trim()).toBe(world.lb.env.PGUSER);
  });

  it('resolves a user identity with SCIM and URL-encodes it in DATABASE_URL', async () => {
    const env = {
      DATABRICKS_HOST: world.lb.env.DATABRICKS_HOST,
      DATABRICKS_TOKEN: world.lb.userToken(ALICE),
      LAKEBASE_ENDPOINT: world.lb.env.LAKEBASE_ENDPOINT,
      PGHOST: world.lb.env.PGHOST,
      PGPORT: world.lb.env.PGPORT,
      PGDATABASE: world.lb.env.PGDATABASE,
      PGSSLROOTCERT: world.lb.env.PGSSLROOTCERT!,
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
    const { code, stdout } = await cli(['env', '--format', 'dotenv'], world.lb.env);
    expect(code).toBe(0);
    const lines = stdout.trimEnd().split('\n');
    expect(lines.map((line) => /^([A-Z_]+)="[^"]*"$/.exec(line)?.[1])).toEqual(KEYS);
    const url = /^DATABASE_URL="(.*)"$/m.exec(stdout)![1]!;
    expect(await currentUser({ connectionString: url })).toBe(world.lb.env.PGUSER);
  });

  it('flags override the environment', async () => {
    const { code, stdout } = await cli(
      ['env', '--format', 'json', '--sslmode', 'verify-full', '--port', '6543'],
      world.lb.env,
    );
    expect(code).toBe(0);
    const vars = JSON.parse(stdout) as Record<string, string>;
    expect(vars.PGSSLMODE).toBe('verify-full');
    expect(vars.PGPORT).toBe('6543');
    expect(vars.DATABASE_URL).toMatch(
      /@127\.0\.0\.1:6543\/databricks_postgres\?sslmode=verify-full&sslrootcert=/,
    );
    const plain = JSON.parse(
      (await cli(['env', '--format', 'json', '--sslmode', 'disable'], world.lb.env)).stdout,
    );
    expect(plain.PGSSLROOTCERT).toBeUndefined();
    expect(plain.DATABASE_URL).toMatch(/\?sslmode=disable$/);
  });

  it('--user acts as a user of lakebase-kit dev: PGUSER is the user, not the SP of the env file', async () => {
    await world.lb.addUser(BOB);
    const { code, stdout, stderr } = await cli(
      ['env', '--format', 'json', '--user', BOB],
      devEnv(world, [ALICE, BOB]),
    );
    expect(stderr).not.toMatch(/oauth and pat/);
    expect(code).toBe(0);
    const vars = JSON.parse(stdout) as Record<string, string>;
    expect(vars.PGUSER).toBe(BOB);
    expect(await currentUser({ connectionString: vars.DATABASE_URL })).toBe(BOB);

    const stranger = await cli(['env', '--user', 'carol@example.com'], devEnv(world, [ALICE]));
    expect(stranger.code).toBe(2);
    expect(stranger.stdout).toBe('');
    expect(stranger.stderr).toContain('has tokens for alice@example.com');
  });

  it('a DATABRICKS_TOKEN on top of the SP env: the token owner, and PGUSER (the SP) no longer applies', async () => {
    const env = { ...world.lb.env, DATABRICKS_TOKEN: world.lb.userToken(ALICE) };
    const { code, stdout } = await cli(['env', '--format', 'json'], env);
    expect(code).toBe(0);
    const vars = JSON.parse(stdout) as Record<string, string>;
    expect(vars.PGUSER).toBe(ALICE);
    expect(await currentUser({ connectionString: vars.DATABASE_URL })).toBe(ALICE);
  });

  it('fails with one line and exit 2 on bad config; usage errors show the help', async () => {
    const { PGHOST: _, ...noHost } = world.lb.env;
    const missing = await cli(['env'], noHost);
    expect(missing.code).toBe(2);
    expect(missing.stdout).toBe('');
    expect(missing.stderr.trimEnd().split('\n')).toHaveLength(1);
    expect(missing.stderr).toContain('PGHOST');

    const badPort = await cli(['env', '--port', 'abc'], world.lb.env);
    expect(badPort.code).toBe(2);
    expect(badPort.stderr.trimEnd().split('\n')).toHaveLength(1);
    expect(badPort.stderr).toContain('Invalid port "abc"');

    const badFormat = await cli(['env', '--format', 'xml'], world.lb.env);
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
