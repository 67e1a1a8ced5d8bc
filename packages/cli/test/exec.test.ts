import type { ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { ALICE, devEnv, runCli, startCli, useCliWorld } from './harness.js';

const WHOAMI =
  "const pg=require('pg');const c=new pg.Client();c.connect()" +
  ".then(()=>c.query('select current_user as u')).then(r=>{console.log(r.rows[0].u);return c.end()})" +
  '.catch(e=>{console.error(e.code||e.message);process.exit(3)})';
const WHOAMI_URL = WHOAMI.replace('new pg.Client()', 'new pg.Client(process.env.DATABASE_URL)');
const world = useCliWorld();
const cli = (args: string[], env: Record<string, string>) => runCli(world, args, env);

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

describe('lakebase-kit exec', () => {
  it('runs the command with PG* variables: it connects as the service principal', async () => {
    const { code, stdout, stderr } = await cli(['exec', '--', 'node', '-e', WHOAMI], world.lb.env);
    expect(stderr).toBe('');
    expect(code).toBe(0);
    expect(stdout).toBe(`${world.lb.env.PGUSER}\n`);

    const viaUrl = await cli(['exec', '--', 'node', '-e', WHOAMI_URL], world.lb.env);
    expect(viaUrl.code).toBe(0);
    expect(viaUrl.stdout).toBe(`${world.lb.env.PGUSER}\n`);
  });

  it('DATABASE_URL: pg connects over verified TLS without its sslmode SECURITY WARNING', async () => {
    // What drizzle-kit, kysely-codegen and every pg-based tool do with the URL.
    const probe =
      "const pg=require('pg');const c=new pg.Client(process.env.DATABASE_URL);c.connect()" +
      '.then(()=>{const s=c.connection.stream;console.log(JSON.stringify({url:' +
      "new URL(process.env.DATABASE_URL).searchParams.get('sslmode'),tls:s.encrypted===true," +
      'authorized:s.authorized,error:s.authorizationError??null}));return c.end()})' +
      '.catch(e=>{console.error(e.code||e.message);process.exit(3)})';
    const run = await cli(['exec', '--', 'node', '-e', probe], world.lb.env);
    expect(run.stderr).toBe(''); // no "SECURITY WARNING: The SSL modes 'prefer', 'require' …"
    expect(run.code).toBe(0);
    expect(JSON.parse(run.stdout)).toEqual({
      url: 'verify-full',
      tls: true,
      authorized: true,
      error: null,
    });

    // The check can fail: the warning pg prints for a URL with sslmode=require …
    const required = await cli(
      [
        'exec',
        '--',
        'node',
        '-e',
        probe.replace(
          'new pg.Client(process.env.DATABASE_URL)',
          "new pg.Client(process.env.DATABASE_URL.replace('verify-full','require'))",
        ),
      ],
      world.lb.env,
    );
    expect(required.stderr).toContain('SECURITY WARNING');
    // … and the URL's CA is what verifies: with another CA file the same URL is refused.
    const otherCa = await cli(['exec', '--', 'node', '-e', probe], {
      ...world.lb.env,
      PGSSLROOTCERT: '/etc/ssl/certs/ca-certificates.crt',
    });
    expect(otherCa.code).toBe(3);
    expect(otherCa.stderr).toMatch(/UNABLE_TO_VERIFY|CERT/);
  });

  it('DATABASE_URL works as is in psql (libpq): verify-full with the CA file', async () => {
    const { code, stdout, stderr } = await cli(
      ['exec', '--', 'sh', '-c', 'psql "$DATABASE_URL" -Atc "select current_user"'],
      world.lb.env,
    );
    expect(stderr).toBe('');
    expect(code).toBe(0);
    expect(stdout).toBe(`${world.lb.env.PGUSER}\n`);
  });

  it('runs as the current identity: a user with DATABRICKS_TOKEN connects as the user', async () => {
    const env = {
      DATABRICKS_HOST: world.lb.env.DATABRICKS_HOST,
      DATABRICKS_TOKEN: world.lb.userToken(ALICE),
      LAKEBASE_ENDPOINT: world.lb.env.LAKEBASE_ENDPOINT,
      PGHOST: world.lb.env.PGHOST,
      PGPORT: world.lb.env.PGPORT,
      PGDATABASE: world.lb.env.PGDATABASE,
      PGSSLROOTCERT: world.lb.env.PGSSLROOTCERT!,
    };
    const { code, stdout } = await cli(['exec', 'node', '-e', WHOAMI], env);
    expect(code).toBe(0);
    expect(stdout).toBe(`${ALICE}\n`);
  });

  it('--user acts as a user of lakebase-kit dev, with its env file loaded', async () => {
    const { code, stdout, stderr } = await cli(
      ['exec', '--user', ALICE, '--', 'node', '-e', WHOAMI],
      devEnv(world, [ALICE]),
    );
    expect(stderr).toBe('');
    expect(code).toBe(0);
    expect(stdout).toBe(`${ALICE}\n`);
  });

  it('forwards the exit code', async () => {
    expect((await cli(['exec', '--', 'node', '-e', 'process.exit(7)'], world.lb.env)).code).toBe(7);
    expect((await cli(['exec', '--', 'node', '-e', 'process.exit(0)'], world.lb.env)).code).toBe(0);
  });

  for (const signal of ['SIGTERM', 'SIGINT'] as const) {
    it(`forwards ${signal} to the command and exits with its code`, async () => {
      const script =
        `process.on('${signal}',()=>{console.log('got ${signal}');process.exit(42)});` +
        "console.log('ready');setInterval(()=>{},1000)";
      const run = startCli(world, ['exec', '--', 'node', '-e', script], world.lb.env);
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
      world.lb.env,
    );
    expect(code).toBe(128 + 9);
  });

  it('exits 127 when the command does not exist', async () => {
    const { code, stderr } = await cli(['exec', '--', 'no-such-command-lakebase'], world.lb.env);
    expect(code).toBe(127);
    expect(stderr).toContain('command not found');
  });

  it('fails with exit 2 and one line before running anything when no token can be had', async () => {
    const marker = path.join(world.home, 'ran');
    const touch = `require('fs').writeFileSync(${JSON.stringify(marker)},'x')`;
    const { code, stdout, stderr } = await cli(['exec', '--', 'node', '-e', touch], {
      ...world.lb.env,
      LAKEBASE_ENDPOINT: 'projects/local/branches/main/endpoints/missing',
    });
    expect(code).toBe(2);
    expect(stdout).toBe('');
    expect(stderr.trimEnd().split('\n')).toHaveLength(1);
    expect(stderr).toContain('HTTP 404 NOT_FOUND');
    expect(existsSync(marker)).toBe(false);
  });

  it('without a command → usage, exit 2; --help → exit 0', async () => {
    const none = await cli(['exec'], world.lb.env);
    expect(none.code).toBe(2);
    expect(none.stderr).toContain('Usage: lakebase-kit exec');
    const help = await cli(['exec', '--help'], {});
    expect(help.code).toBe(0);
    expect(help.stdout).toContain('Usage: lakebase-kit exec');
  });
});
