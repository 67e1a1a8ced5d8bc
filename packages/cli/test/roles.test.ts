/** `lakebase-kit roles` run as the real CLI against the local Lakebase. */
import pg from 'pg';
import { beforeAll, describe, expect, it } from 'vitest';
import { currentUser, loginConfig, runCli, useCliWorld } from './harness.js';

const world = useCliWorld();
const cli = (args: string[], env: Record<string, string>) => runCli(world, args, env);
const asOwner = () => world.lb.envFor(world.lb.projectOwner);
const asSp = () => world.lb.env;

/** A client logged in as `user` with a token minted for it. */
async function connect(user: string): Promise<pg.Client> {
  const client = new pg.Client({
    host: world.lb.env.PGHOST,
    port: Number(world.lb.env.PGPORT),
    database: world.lb.env.PGDATABASE,
    user,
    password: world.lb.mintPgToken(user).token,
    ssl: { ca: world.lb.tls!.caPem },
  });
  await client.connect();
  return client;
}

beforeAll(async () => {
  const sp = await connect(world.lb.env.PGUSER);
  await sp.query(`create schema shop;
    create table shop.orders (id serial primary key, item text not null);
    insert into shop.orders (item) values ('tea')`);
  await sp.end();
});

describe('lakebase-kit roles add', () => {
  it('as the project owner: through the roles API; the role logs in; idempotent', async () => {
    const first = await cli(['roles', 'add', 'bob@example.com'], asOwner());
    expect(first).toMatchObject({ code: 0, stderr: '' });
    expect(first.stdout).toBe(
      'Created the Postgres role "bob@example.com" (through the roles API).\n',
    );
    expect(
      await currentUser(
        loginConfig(world, 'bob@example.com', world.lb.mintPgToken('bob@example.com').token),
      ),
    ).toBe('bob@example.com');
    const again = await cli(['roles', 'add', 'bob@example.com'], asOwner());
    expect(again.stdout).toContain('already has a Postgres role; nothing to do');
    const superuser = await cli(['roles', 'add', 'bob@example.com', '--superuser'], asOwner());
    expect(superuser.code).toBe(0);
    expect(superuser.stdout).toContain('Made "bob@example.com" a member of databricks_superuser');
    expect(superuser.stderr).toContain('bypasses row-level security');
    world.lb.addGroup('data-team', ['alice@example.com']);
    const group = await cli(['roles', 'add', 'data-team', '--type', 'group'], asOwner());
    expect(group).toMatchObject({ code: 0 });
    const alice = new pg.Client({
      host: world.lb.env.PGHOST,
      port: Number(world.lb.env.PGPORT),
      database: world.lb.env.PGDATABASE,
      user: 'data-team',
      password: world.lb.mintPgToken('alice@example.com').token,
      ssl: { ca: world.lb.tls!.caPem },
    });
    await alice.connect();
    await alice.end();
  });

  it('as the app SP: refused, the message names CAN_MANAGE and CREATEROLE; exit 2', async () => {
    const { code, stdout, stderr } = await cli(['roles', 'add', 'carol@example.com'], asSp());
    expect(code).toBe(2);
    expect(stdout).toBe('');
    expect(stderr).toContain('Cannot create the Postgres role "carol@example.com"');
    expect(stderr).toContain('the roles API needs CAN_MANAGE on project projects/local');
    expect(stderr).toContain('in SQL it needs CREATEROLE');
    expect(stderr).not.toMatch(/lbk_/);
    expect(
      await world.lb.sql("select 1 from pg_roles where rolname = 'carol@example.com'"),
    ).toEqual([]);
  });
});

describe('lakebase-kit roles list', () => {
  it('a table through the roles API for the owner; JSON from pg_roles for the SP', async () => {
    const { code, stdout } = await cli(['roles', 'list'], asOwner());
    expect(code).toBe(0);
    const bob = stdout.split('\n').find((line) => line.startsWith('bob@example.com'));
    expect(bob?.split(/\s+/)).toEqual([
      'bob@example.com',
      'USER',
      'yes',
      'yes',
      '-',
      'bob-example-com',
    ]);
    expect(stdout.split('\n')[0]).toMatch(
      /^ROLE\s+TYPE\s+LOGIN\s+DATABRICKS_SUPERUSER\s+ATTRIBUTES\s+ROLE_ID$/,
    );
    const json = await cli(['roles', 'list', '--json'], asSp());
    const parsed = JSON.parse(json.stdout) as {
      via: string;
      roles: Array<{ postgresRole: string; superuser: boolean }>;
    };
    expect(parsed.via).toBe('sql');
    expect(parsed.roles.find((role) => role.postgresRole === 'bob@example.com')?.superuser).toBe(
      true,
    );
  });
});

describe('lakebase-kit roles grant', () => {
  it("the guide's grants: creates the role, then the user reads and writes the SP's schema", async () => {
    const { code, stdout } = await cli(
      ['roles', 'grant', 'dave@example.com', '--schema', 'shop'],
      asOwner(),
    );
    expect(code).toBe(0);
    expect(stdout).toContain(
      'Created the Postgres role "dave@example.com" (through the roles API).',
    );
    expect(stdout).toContain('Granted "dave@example.com" ALL on schema shop');
    const dave = await connect('dave@example.com');
    await dave.query("insert into shop.orders (item) values ('coffee')");
    expect((await dave.query('select count(*)::int as n from shop.orders')).rows[0].n).toBe(2);
    await dave.end();
    const again = await cli(
      ['roles', 'grant', 'dave@example.com', '--schema', 'shop', '-v'],
      asOwner(),
    );
    expect(again.code).toBe(0);
    expect(again.stdout).not.toContain('Created');
    expect(again.stdout).toContain('GRANT ALL ON SCHEMA "shop" TO "dave@example.com";');
  });

  it('--read-only: SELECT, no INSERT', async () => {
    const { code } = await cli(
      ['roles', 'grant', 'erin@example.com', '--schema', 'shop', '--read-only'],
      asOwner(),
    );
    expect(code).toBe(0);
    const erin = await connect('erin@example.com');
    expect((await erin.query('select item from shop.orders order by id limit 1')).rows).toEqual([
      { item: 'tea' },
    ]);
    await expect(erin.query("insert into shop.orders (item) values ('x')")).rejects.toMatchObject({
      code: '42501',
    });
    await erin.end();
  });

  it('bad usage: exit 2 with the help', async () => {
    for (const args of [
      ['roles'],
      ['roles', 'grant', 'x@example.com'],
      ['roles', 'add'],
      ['roles', 'add', 'x@example.com', '--type', 'robot'],
      ['roles', 'remove', 'x@example.com'],
    ]) {
      const { code, stderr, stdout } = await cli(args, asOwner());
      expect(code).toBe(2);
      expect(`${stdout}${stderr}`).toContain('Usage: lakebase-kit roles');
    }
    const help = await cli(['roles', '--help'], {});
    expect(help).toMatchObject({ code: 0 });
  });
});
