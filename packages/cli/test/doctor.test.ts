/** `lakebase-kit doctor` run as the real CLI against the local Lakebase. */
import { readFileSync } from 'node:fs';
import pg from 'pg';
import { beforeAll, describe, expect, it } from 'vitest';
import { ALICE, runCli, useCliWorld } from './harness.js';

const world = useCliWorld();
const cli = (args: string[], env: Record<string, string>) => runCli(world, args, env);

async function as(user: string, sql: string): Promise<void> {
  const client = new pg.Client({
    host: world.lb.env.PGHOST,
    port: Number(world.lb.env.PGPORT),
    database: world.lb.env.PGDATABASE,
    user,
    password: world.lb.mintPgToken(user).token,
    ssl: { ca: world.lb.tls!.caPem },
  });
  await client.connect();
  try {
    await client.query(sql);
  } finally {
    await client.end();
  }
}

interface Report {
  ok: boolean;
  checks: Array<{ id: string; status: string; finding: string; fix: string; subjects?: string[] }>;
}

beforeAll(async () => {
  await as(
    world.lb.env.PGUSER,
    `create schema app;
     create table app.notes (id serial primary key, owner text not null default current_user);
     alter table app.notes enable row level security;
     create policy own on app.notes using (owner = current_user);
     grant usage on schema app to public; grant select, insert on app.notes to public`,
  );
});

describe('lakebase-kit doctor', () => {
  it('passes on the clean app (TLS verified, as on Lakebase): exit 0', async () => {
    const { code, stdout, stderr } = await cli(
      ['doctor', '--identity', 'alice@example.com'],
      world.lb.env,
    );
    expect(stderr).toBe('');
    expect(code).toBe(0);
    expect(stdout).toMatch(/^ok {3}\s+config\s+endpoint projects\/local/m);
    expect(stdout).toMatch(
      /^ok\s+tls\s+TLS on \(sslmode=require, server certificate and host name verified\)$/m,
    );
    expect(stdout).toMatch(/^ok {3}\s+ownership\s+/m);
    // login mode (the default) does not need SET ROLE: reported, not a warning
    expect(stdout).toMatch(
      /^ok\s+set-role\s+.*not to alice@example\.com \(login mode does not need it\)$/m,
    );
    expect(stdout).toContain('0 errors, 0 warnings (11 checks)');
    expect(stdout).not.toMatch(/lbk_/);
  });

  it('finds a schema the developer owns and a missing user role: exit 1, with the fixes', async () => {
    await as(world.lb.projectOwner, 'create schema devschema; create table devschema.t (v int)');
    const { code, stdout } = await cli(['doctor', '--identity', 'ghost@example.com'], world.lb.env);
    expect(code).toBe(1);
    expect(stdout).toMatch(/^ERROR\s+ownership\s+2 object\(s\) the app uses are not owned by /m);
    expect(stdout).toContain('fix: The deployed app will get "permission denied"');
    expect(stdout).toMatch(/^ERROR\s+user-roles\s+1 identities seen have no Postgres role/m);
    expect(stdout).toContain('fix: lakebase-kit roles add ghost@example.com');
    const json = await cli(['doctor', '--json', '--schema', 'app'], world.lb.env);
    expect(json.code).toBe(0); // only the app's own schema
    const report = JSON.parse(json.stdout) as Report;
    expect(report.ok).toBe(true);
    expect(report.checks.find((c) => c.id === 'ownership')?.status).toBe('ok');
  });

  it('names from the database reach the terminal without their control characters', async () => {
    const evil = 'evil\u001b[2J\u001b]0;pwned\u0007\rname';
    const quoted = `"${evil.replaceAll('"', '""')}"`;
    await as(
      world.lb.env.PGUSER,
      `create table app.${quoted} (owner text); create policy p on app.${quoted} using (true)`,
    );
    try {
      const { stdout } = await cli(['doctor', '--schema', 'app'], world.lb.env);
      expect(stdout).toMatch(/^ERROR\s+rls-policies\s+.*app\.evil\[2J\]0;pwnedname/m);
      // biome-ignore lint/suspicious/noControlCharactersInRegex: the point of the test
      expect(stdout).not.toMatch(/[\u0000-\u0008\u000b-\u001f\u007f]/);
      // --json keeps the name exact (JSON escapes it)
      const json = await cli(['doctor', '--json', '--schema', 'app'], world.lb.env);
      const report = JSON.parse(json.stdout) as Report;
      expect(report.checks.find((c) => c.id === 'rls-policies')?.subjects).toEqual([`app.${evil}`]);
    } finally {
      await as(world.lb.env.PGUSER, `drop table app.${quoted}`);
    }
  });

  it('run as the developer, --app-role checks ownership against the app SP', async () => {
    const env = world.lb.envFor(world.lb.projectOwner);
    const mine = await cli(['doctor', '--json', '--schema', 'devschema'], env);
    expect(
      (JSON.parse(mine.stdout) as Report).checks.find((c) => c.id === 'ownership')?.status,
    ).toBe('ok');
    const theApps = await cli(
      ['doctor', '--json', '--schema', 'devschema', '--app-role', world.lb.env.PGUSER],
      env,
    );
    expect(theApps.code).toBe(1);
    const ownership = (JSON.parse(theApps.stdout) as Report).checks.find(
      (c) => c.id === 'ownership',
    );
    expect(ownership?.subjects).toEqual([
      `schema devschema (owner "${world.lb.projectOwner}")`,
      `table devschema.t (owner "${world.lb.projectOwner}")`,
    ]);
  });

  it('--mode set-role: a user role the app may not SET ROLE to is an error; auto a warning', async () => {
    const check = async (mode: string) => {
      const run = await cli(
        ['doctor', '--json', '--mode', mode, '--identity', ALICE],
        world.lb.env,
      );
      return (JSON.parse(run.stdout) as Report).checks.find((c) => c.id === 'set-role')!;
    };
    expect((await check('set-role')).status).toBe('error');
    expect((await check('set-role')).fix).toContain(`GRANT "${ALICE}" TO`);
    expect((await check('auto')).status).toBe('warn');
    expect((await check('login')).status).toBe('ok');
    await world.lb.grantSetRole(ALICE);
    try {
      expect((await check('set-role')).status).toBe('ok');
    } finally {
      await world.lb.grantSetRole(ALICE, false);
    }
    const bad = await cli(['doctor', '--mode', 'sometimes'], world.lb.env);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain('Unknown --mode "sometimes"');
  });

  it('the README and --help list exactly the checks doctor runs', async () => {
    const run = await cli(['doctor', '--json', '--identity', ALICE], world.lb.env);
    const ran = (JSON.parse(run.stdout) as Report).checks.map((c) => c.id);
    expect(ran).toHaveLength(11);
    const readme = readFileSync(new URL('../README.md', import.meta.url), 'utf8');
    const table = readme.slice(readme.indexOf('| check '));
    const documented = table
      .slice(0, table.indexOf('\n\n'))
      .split('\n')
      .slice(2)
      .map((row) => /^\|\s*`([a-z-]+)`/.exec(row)?.[1]);
    expect(documented).toEqual(ran);
    const help = (await cli(['doctor', '--help'], {})).stdout;
    const listed = help
      .split('Each check')[0]!
      .split('\n')
      .map((line) => /^ {2}([a-z][a-z-]+) {2,}/.exec(line)?.[1])
      .filter(Boolean);
    expect(listed).toEqual(ran);
    expect(readme).toContain(`(${ran.length} checks)`);
  });

  it('no endpoint: the config and credential problems are the report (exit 1), not a crash', async () => {
    const { LAKEBASE_ENDPOINT: _, ...env } = world.lb.env;
    const { code, stdout } = await cli(['doctor'], env);
    expect(code).toBe(1);
    expect(stdout).toMatch(/^ERROR\s+config\s+Lakebase endpoint is missing/m);
    expect(stdout).toContain('env LAKEBASE_ENDPOINT');
  });
});
