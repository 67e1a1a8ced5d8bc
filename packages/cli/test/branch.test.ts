/**
 * `lakebase-kit branch …`, `exec --branch` and `doctor --branch`, end to end: the built CLI in a
 * child process against a local Lakebase that branches for real (each branch its own Postgres,
 * served through the branches and endpoints API), as the project owner (CAN_MANAGE). Expiry is
 * driven with `lb.branches.expireDue(at)`: no test waits for a clock.
 */
import { describe, expect, it, vi } from 'vitest';
import { ALICE, type CliRun, runCli, useCliWorld } from './harness.js';

const world = useCliWorld({ historyRetentionSeconds: 3600 });
const PROJECT = 'projects/local';
const ownerEnv = () => world.lb.envFor(world.lb.projectOwner);
const cli = (args: string[], env: Record<string, string> = ownerEnv()) => runCli(world, args, env);

/** A successful `--json` run: stdout is exactly one JSON document, progress stays on stderr. */
function parsed<T = unknown>(run: CliRun): T {
  expect(run.code, run.stderr).toBe(0);
  expect(run.stderr).not.toMatch(/^\s*[[{]/m);
  return JSON.parse(run.stdout) as T;
}

/** A failed run (exit 2): one error line on stderr; with `--json` the error on stdout. */
function failed(run: CliRun): { code: string; message: string; branch?: string } {
  expect(run.code, run.stdout + run.stderr).toBe(2);
  expect(run.stderr.trimEnd().split('\n')).toHaveLength(1);
  return (JSON.parse(run.stdout) as { error: { code: string; message: string } }).error;
}

/** psql as the owner on `branch` (or main), through `lakebase-kit exec`. */
async function sql(branch: string | undefined, text: string): Promise<string> {
  const target = branch ? ['--branch', branch] : [];
  const run = await cli(['exec', ...target, '--', 'psql', '-v', 'ON_ERROR_STOP=1', '-qAtc', text]);
  expect(run.code, run.stderr).toBe(0);
  return run.stdout.trim();
}

const notes = (branch?: string) =>
  sql(branch, "select coalesce(string_agg(body, ',' order by body), '') from notes");

interface BranchJson {
  name: string;
  create_time: string;
  spec: Record<string, unknown>;
  status: {
    current_state: string;
    is_protected?: boolean;
    source_branch?: string;
    expire_time?: string;
  };
}
interface EndpointJson {
  name: string;
  status: { current_state: string; hosts: { host: string } };
}

describe('lakebase-kit branch', () => {
  it('create --ttl: the branch and its read-write compute, READY; progress on stderr, one JSON document on stdout', async () => {
    await sql(undefined, "create table notes (body text); insert into notes values ('main-1')");
    const run = await cli(['branch', 'create', 'pr-1', '--ttl', '24h', '--json']);
    const { branch, endpoint } = parsed<{ branch: BranchJson; endpoint: EndpointJson }>(run);
    expect(run.stderr).toMatch(/^lakebase-kit branch: .*pr-1.*READY$/m);
    expect(run.stderr).toMatch(
      /^lakebase-kit branch: endpoint .*pr-1\/endpoints\/primary: ACTIVE$/m,
    );
    expect(branch.name).toBe(`${PROJECT}/branches/pr-1`);
    expect(branch.status.current_state).toBe('READY');
    expect(branch.spec.ttl).toBe('86400s');
    expect(branch.status.source_branch).toBe(`${PROJECT}/branches/main`);
    const lifetime = Date.parse(branch.status.expire_time!) - Date.parse(branch.create_time);
    expect(lifetime).toBe(24 * 3600_000);
    expect(endpoint.name).toBe(`${PROJECT}/branches/pr-1/endpoints/primary`);
    expect(endpoint.status.current_state).toBe('ACTIVE');
    expect(endpoint.status.hosts.host).not.toBe(world.lb.env.PGHOST);

    // Without --json: one line on stdout.
    const plain = await cli(['branch', 'create', 'pr-2', '--no-expiry']);
    expect(plain.code, plain.stderr).toBe(0);
    expect(plain.stdout).toBe(
      `${PROJECT}/branches/pr-2 is READY; its compute is ${PROJECT}/branches/pr-2/endpoints/primary\n`,
    );
  });

  it('a row written on a branch never appears on its parent, nor the other way round', async () => {
    expect(await sql('pr-1', "insert into notes values ('pr-1'); select count(*) from notes")).toBe(
      '2',
    );
    expect(await notes('pr-1')).toBe('main-1,pr-1');
    expect(await notes()).toBe('main-1');
    await sql(undefined, "insert into notes values ('main-2')");
    expect(await notes('pr-1')).toBe('main-1,pr-1');
    expect(await notes('pr-2')).toBe('main-1');
    expect(await notes()).toBe('main-1,main-2');
  });

  it('list: every branch with its state, parent and expiry (a table, or JSON)', async () => {
    const table = await cli(['branch', 'list']);
    expect(table.code, table.stderr).toBe(0);
    const rows = table.stdout.trimEnd().split('\n');
    expect(rows[0]).toMatch(/^BRANCH\s+STATE\s+FLAGS\s+PARENT\s+EXPIRES$/);
    expect(rows).toContainEqual(expect.stringMatching(/^main\s+READY\s+default\s+-\s+never$/));
    expect(rows).toContainEqual(
      expect.stringMatching(/^pr-1\s+READY\s+main\s+\d{4}-\d\d-\d\dT[\d:.]+Z$/),
    );
    expect(rows).toContainEqual(expect.stringMatching(/^pr-2\s+READY\s+main\s+never$/));
    const list = parsed<BranchJson[]>(await cli(['branch', 'list', '--json']));
    expect(list.map((b) => b.name)).toEqual(
      ['main', 'pr-1', 'pr-2'].map((id) => `${PROJECT}/branches/${id}`),
    );
  });

  it('get: the branch and its computes (host:port)', async () => {
    const run = await cli(['branch', 'get', 'pr-1']);
    expect(run.code, run.stderr).toBe(0);
    const host = world.lb.branches.get('pr-1')!;
    expect(run.stdout).toContain(
      `  ${PROJECT}/branches/pr-1/endpoints/primary ENDPOINT_TYPE_READ_WRITE ACTIVE ${host.host}:${host.port}\n`,
    );
    const { branch, endpoints } = parsed<{ branch: BranchJson; endpoints: EndpointJson[] }>(
      await cli(['branch', 'get', 'pr-1', '--json']),
    );
    expect(branch.name).toBe(`${PROJECT}/branches/pr-1`);
    expect(endpoints.map((e) => e.name)).toEqual([`${PROJECT}/branches/pr-1/endpoints/primary`]);
  });

  it("env: the branch compute's variables (LAKEBASE_ENDPOINT, PGHOST, PGPORT, a token); an app connects with them", async () => {
    const vars = parsed<Record<string, string>>(
      await cli(['branch', 'env', 'pr-1', '--format', 'json']),
    );
    const branch = world.lb.branches.get('pr-1')!;
    expect(vars).toMatchObject({
      LAKEBASE_ENDPOINT: `${PROJECT}/branches/pr-1/endpoints/primary`,
      PGHOST: branch.host,
      PGPORT: String(branch.port),
      PGUSER: world.lb.projectOwner,
      PGDATABASE: world.lb.env.PGDATABASE,
    });
    expect(vars.PGPASSWORD).toMatch(/^lbk_pg_/);
    expect(parsed(await cli(['branch', 'env', 'pr-1', '--json']))).toMatchObject({
      PGHOST: branch.host,
    });
    // The shell form, as `eval "$(lakebase-kit branch env pr-1)"` takes it.
    const shell = await cli(['branch', 'env', 'pr-1']);
    expect(shell.code).toBe(0);
    expect(shell.stderr).toContain('do not commit or log them');
    const evaluated = await runCli(
      world,
      [
        'exec',
        '--',
        'sh',
        '-c',
        `eval "$1"; psql -Atc "select string_agg(body, ',' order by body) from notes"`,
        'sh',
        shell.stdout,
      ],
      ownerEnv(),
    );
    expect(evaluated.stdout).toBe('main-1,pr-1\n');
  });

  it('create --from <branch>: a copy of that branch, its parent', async () => {
    const { branch } = parsed<{ branch: BranchJson }>(
      await cli(['branch', 'create', 'pr-1-child', '--from', 'pr-1', '--ttl', '2h', '--json']),
    );
    expect(branch.status.source_branch).toBe(`${PROJECT}/branches/pr-1`);
    expect(await notes('pr-1-child')).toBe('main-1,pr-1');
    const list = await cli(['branch', 'list']);
    expect(list.stdout).toMatch(/^pr-1-child\s+READY\s+pr-1\s/m);
  });

  it('create --at <time>: the parent as it was then, within the retention window', async () => {
    await sql(undefined, "insert into notes values ('main-3')");
    const then = await sql(
      undefined,
      `select to_char(clock_timestamp() at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"')`,
    );
    await sql(undefined, "insert into notes values ('main-4')");
    const { branch } = parsed<{ branch: BranchJson }>(
      await cli(['branch', 'create', 'before-main-4', '--at', then, '--ttl', '2h', '--json']),
    );
    expect(branch.spec.source_branch_time).toBe(then);
    expect(await notes('before-main-4')).toBe('main-1,main-2,main-3');
    expect(await notes()).toBe('main-1,main-2,main-3,main-4');
  });

  it('create --at outside the retention window: refused with a typed error that says so; nothing is made', async () => {
    const run = await cli([
      'branch',
      'create',
      'ancient',
      '--at',
      '2001-01-01T00:00:00Z',
      '--ttl',
      '1h',
      '--json',
    ]);
    const error = failed(run);
    expect(error.code).toBe('LAKEBASE_VALIDATION');
    expect(error.message).toContain('--at 2001-01-01T00:00:00Z was refused');
    expect(error.message).toContain('outside the local retention window');
    expect(error.message).toContain('leave out --at to branch from now');
    expect(run.stderr).toContain('outside the local retention window');
    const plain = await cli(['branch', 'create', 'ancient', '--at', '0/1', '--ttl', '1h']);
    expect(plain.code).toBe(2);
    expect(plain.stdout).toBe('');
    expect(plain.stderr).toMatch(/^lakebase-kit branch: --at 0\/1 was refused: .*window/);
    const list = parsed<BranchJson[]>(await cli(['branch', 'list', '--json']));
    expect(list.map((b) => b.name)).not.toContain(`${PROJECT}/branches/ancient`);
  });

  it('an invalid id: refused before any call, with a typed error naming a valid one', async () => {
    const error = failed(await cli(['branch', 'create', 'Dev_Alice', '--ttl', '1h', '--json']));
    expect(error.code).toBe('LAKEBASE_VALIDATION');
    expect(error.message).toMatch(/^Invalid branch id "Dev_Alice": .*; try "dev-alice"$/);
    const long = await cli(['branch', 'create', `a${'b'.repeat(63)}`, '--ttl', '1h']);
    expect(long.code).toBe(2);
    expect(long.stderr).toContain('64 characters long (at most 63)');
    const from = await cli(['branch', 'create', 'ok-id', '--from', 'Main', '--ttl', '1h']);
    expect(from.stderr).toContain('Invalid --from branch id "Main"');
    // No API was needed to refuse them: not even a reachable workspace.
    const offline = await cli(['branch', 'create', '9lives', '--ttl', '1h'], {
      ...ownerEnv(),
      DATABRICKS_HOST: 'http://127.0.0.1:9',
    });
    expect(offline.stderr).toMatch(
      /Invalid branch id "9lives": it must start with a lowercase letter/,
    );
    expect((await cli(['branch', 'list'])).stdout).not.toMatch(/dev-alice|ok-id/);
  });

  it('an id that exists: a typed error naming the fix', async () => {
    const taken = failed(await cli(['branch', 'create', 'pr-2', '--ttl', '1h', '--json']));
    expect(taken.code).toBe('LAKEBASE_BRANCH_EXISTS');
    expect(taken.message).toContain('pick another id');
  });

  it('protect: a protected branch refuses delete, reset and being replaced, with a typed error naming the fix', async () => {
    const protectedBranch = parsed<BranchJson>(await cli(['branch', 'protect', 'pr-2', '--json']));
    expect(protectedBranch.status.is_protected).toBe(true);
    expect((await cli(['branch', 'list'])).stdout).toMatch(/^pr-2\s+READY\s+protected\s+main\s/m);
    for (const action of ['delete', 'reset']) {
      const error = failed(await cli(['branch', action, 'pr-2', '--json']));
      expect(error.code, action).toBe('LAKEBASE_BRANCH_PROTECTED');
      expect(error.branch).toBe(`${PROJECT}/branches/pr-2`);
      expect(error.message).toMatch(/\(lakebase-kit branch protect (pr-2 )?--off\)/);
    }
    const plain = await cli(['branch', 'delete', 'pr-2']);
    expect(plain.stdout).toBe('');
    expect(plain.stderr).toMatch(
      /^lakebase-kit branch: .*pr-2 is protected: .*protect (pr-2 )?--off\)/,
    );
    const replace = failed(await cli(['branch', 'create', 'pr-2', '--ttl', '1h', '--json']));
    expect(replace.code).toBe('LAKEBASE_BRANCH_PROTECTED');
    expect(replace.message).toContain('is protected');
    expect(replace.message).toContain('pick another branch id');
    expect(await notes('pr-2')).toBe('main-1'); // still there, untouched
    // One protected branch per project: protecting another names the one to unprotect.
    const second = failed(await cli(['branch', 'protect', 'pr-1', '--json']));
    expect(second.code).toBe('LAKEBASE_BRANCH_PROTECTED');
    expect(second.message).toBe(
      `${PROJECT}/branches/pr-1 cannot be protected: ${PROJECT}/branches/pr-2 is, and a project ` +
        'has one protected branch. Unprotect it first (lakebase-kit branch protect pr-2 --off)',
    );

    const off = await cli(['branch', 'protect', 'pr-2', '--off']);
    expect(off.stdout).toBe(`${PROJECT}/branches/pr-2 is no longer protected\n`);
    expect((await cli(['branch', 'delete', 'pr-2'])).code).toBe(0);
  });

  it("reset: the branch becomes its parent's current state; its own rows are gone", async () => {
    expect(await notes('pr-1')).toBe('main-1,pr-1');
    const reset = parsed<BranchJson>(await cli(['branch', 'reset', 'pr-1', '--json']));
    expect(reset.status.current_state).toBe('READY');
    expect(await notes('pr-1')).toBe('main-1,main-2,main-3,main-4');
    const plain = await cli(['branch', 'reset', 'pr-1']);
    expect(plain.stdout).toBe(`${PROJECT}/branches/pr-1 was reset to its parent's current state\n`);
  });

  it('delete (soft) and undelete: gone from list and unreachable, then back with its data', async () => {
    await cli(['branch', 'create', 'scratch', '--ttl', '2h']);
    await sql('scratch', "insert into notes values ('scratch')");
    const deleted = parsed(await cli(['branch', 'delete', 'scratch', '--json']));
    expect(deleted).toEqual({ deleted: `${PROJECT}/branches/scratch` });
    expect((await cli(['branch', 'list'])).stdout).not.toMatch(/^scratch\s/m);
    const { branch } = parsed<{ branch: BranchJson }>(
      await cli(['branch', 'get', 'scratch', '--json']),
    );
    expect(branch.status.current_state).toBe('DELETED');
    const unreachable = await cli(['exec', '--branch', 'scratch', '--', 'true']);
    expect(unreachable.code).toBe(2);
    expect(unreachable.stderr).toBe(
      `lakebase-kit exec: Branch ${PROJECT}/branches/scratch is deleted, so it has no compute: ` +
        'lakebase-kit branch undelete scratch brings it back (--verbose for details)\n',
    );

    const back = await cli(['branch', 'undelete', 'scratch']);
    expect(back.stdout).toBe(`${PROJECT}/branches/scratch is back\n`);
    expect(await notes('scratch')).toBe('main-1,main-2,main-3,main-4,scratch');
  });

  it('expiry: a branch whose TTL has run out is deleted; --expire-time and --no-expiry are kept as asked', async () => {
    await cli(['branch', 'create', 'short', '--ttl', '30m']);
    const inAnHour = new Date(Date.now() + 3600_000).toISOString();
    const { branch } = parsed<{ branch: BranchJson }>(
      await cli(['branch', 'create', 'until', '--expire-time', inAnHour, '--json']),
    );
    expect(branch.status.expire_time).toBe(inAnHour);
    const expired = await world.lb.branches.expireDue(new Date(Date.now() + 45 * 60_000));
    expect(expired).toEqual([`${PROJECT}/branches/short`]);
    const list = (await cli(['branch', 'list'])).stdout;
    expect(list).not.toMatch(/^short\s/m);
    expect(list).toMatch(/^until\s+READY\s+main\s/m);
    const short = parsed<{ branch: BranchJson }>(await cli(['branch', 'get', 'short', '--json']));
    expect(short.branch.status.current_state).toBe('DELETED');
    // Its id stays taken while it is kept: the error says how to get it back.
    const again = failed(await cli(['branch', 'create', 'short', '--ttl', '1h', '--json']));
    expect(again.code).toBe('LAKEBASE_BRANCH_EXISTS');
    expect(again.message).toContain('lakebase-kit branch undelete short');
    // The rest expire in their own time: two hours on, every TTL'd branch without children.
    const later = await world.lb.branches.expireDue(new Date(Date.now() + 3 * 3600_000));
    expect(later.sort()).toEqual(
      ['before-main-4', 'pr-1-child', 'scratch', 'until'].map((id) => `${PROJECT}/branches/${id}`),
    );
  });

  it('an expiry is required, and only one', async () => {
    const none = await cli(['branch', 'create', 'no-policy']);
    expect(none.code).toBe(2);
    expect(none.stderr).toContain('A branch needs exactly one expiry: --ttl');
    const two = await cli(['branch', 'create', 'two', '--ttl', '1h', '--no-expiry']);
    expect(two.code).toBe(2);
    expect((await cli(['branch', 'create', 'bad-ttl', '--ttl', '1w'])).stderr).toContain(
      '--ttl must be a duration like 24h',
    );
  });

  it('create finishes a branch an earlier create left without a compute; a finished one stays taken', async () => {
    // what a create interrupted between its branch and its compute leaves: the branch alone
    const env = ownerEnv();
    const made = await fetch(
      `${env.DATABRICKS_HOST}/api/2.0/postgres/${PROJECT}/branches?branch_id=half-made`,
      {
        method: 'POST',
        headers: {
          authorization: `Bearer ${env.DATABRICKS_TOKEN}`,
          'content-type': 'application/json',
        },
        body: JSON.stringify({ spec: { ttl: '3600s' } }),
      },
    );
    expect(made.status).toBe(200);
    // (the local API gives a new branch its compute at once: take it away, as if never made)
    const api = async (method: string, path: string) => {
      const res = await fetch(`${env.DATABRICKS_HOST}/api/2.0/postgres/${path}`, {
        method,
        headers: { authorization: `Bearer ${env.DATABRICKS_TOKEN}` },
      });
      expect(res.status, `${method} ${path}`).toBe(200);
      return (await res.json()) as { endpoints?: { name: string }[] };
    };
    const branchPath = `${PROJECT}/branches/half-made`;
    await vi.waitFor(async () =>
      expect((await api('GET', branchPath)) as unknown).toMatchObject({
        status: { current_state: 'READY' },
      }),
    );
    for (const { name } of (await api('GET', `${branchPath}/endpoints`)).endpoints ?? []) {
      await api('DELETE', name);
    }
    await vi.waitFor(async () =>
      expect((await api('GET', `${branchPath}/endpoints`)).endpoints ?? []).toEqual([]),
    );
    const run = await cli(['branch', 'create', 'half-made', '--ttl', '1h', '--json']);
    const { branch, endpoint } = parsed<{ branch: BranchJson; endpoint: EndpointJson }>(run);
    expect(run.stderr).toContain('exists without a compute');
    expect(branch.name).toBe(`${PROJECT}/branches/half-made`);
    expect(endpoint.name).toMatch(new RegExp(`^${PROJECT}/branches/half-made/endpoints/`));
    expect(await notes('half-made')).toBe(await notes());
    const again = failed(await cli(['branch', 'create', 'half-made', '--ttl', '1h', '--json']));
    expect(again.code).toBe('LAKEBASE_BRANCH_EXISTS');
  });

  it('with --json a usage error is one JSON document on stdout too; the help goes to stderr', async () => {
    const runs = {
      'no expiry': ['branch', 'create', 'no-policy', '--json'],
      'no command': ['branch', '--json'],
      'an unknown option': ['branch', 'list', '--json', '--colour'],
      '--json with --format shell': ['branch', 'env', 'pr-1', '--json', '--format', 'shell'],
    };
    for (const [what, args] of Object.entries(runs)) {
      const run = await cli(args);
      expect(run.code, what).toBe(2);
      expect(run.stderr, what).toContain('Usage: lakebase-kit branch');
      const { error } = JSON.parse(run.stdout) as { error: { code: string; message: string } };
      expect(error.code, what).toBe('USAGE');
      expect(error.message, what).not.toBe('');
    }
    expect(world.lb.branches.get('no-policy')).toBeUndefined();
  });

  it('permissions: reading needs CAN_USE, changes CAN_MANAGE, and the error says which', async () => {
    const alice = { ...world.lb.envFor(ALICE) };
    const list = failed(await cli(['branch', 'list', '--json'], alice));
    expect(list.code).toBe('LAKEBASE_PERMISSION_DENIED');
    expect(list.message).toContain('CAN_USE');
    const create = await cli(['branch', 'create', 'alice-1', '--ttl', '1h'], alice);
    expect(create.code).toBe(2);
    expect(create.stderr).toContain('CAN_MANAGE');
  });

  it('usage errors: exit 2 with the help; --help exit 0', async () => {
    const unknown = await cli(['branch', 'rename', 'x']);
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toContain('Unknown branch command "rename"');
    expect(unknown.stderr).toContain('Usage: lakebase-kit branch');
    expect((await cli(['branch', 'get'])).stderr).toContain('branch get needs a branch id');
    const help = await cli(['branch', '--help'], {});
    expect(help.code).toBe(0);
    expect(help.stdout).toContain('branch create <id>');
    const top = await cli(['--help'], {});
    expect(top.stdout).toMatch(/^ {2}branch {2}Lakebase branches: /m);
    expect(top.stdout).toContain('exec, doctor and dev take --branch <id>');
    for (const command of ['exec', 'doctor', 'dev']) {
      expect((await cli([command, '--help'], {})).stdout, command).toMatch(/^ {2}--branch <id> /m);
    }
  });
});

describe('exec --branch and doctor --branch', () => {
  it("exec --branch: the command runs on the branch's compute, with its LAKEBASE_ENDPOINT", async () => {
    const run = await cli([
      'exec',
      '--branch',
      'pr-1',
      '--',
      'sh',
      '-c',
      'echo "$LAKEBASE_ENDPOINT $PGHOST $PGPORT"',
    ]);
    const branch = world.lb.branches.get('pr-1')!;
    expect(run.stdout).toBe(`${branch.endpoint} ${branch.host} ${branch.port}\n`);
  });

  /** What an app's env names for main: its read-only endpoint and its pooled host. */
  const mainsComputes = {
    LAKEBASE_READ_ENDPOINT: `${PROJECT}/branches/main/endpoints/replica-1`,
    LAKEBASE_READ_HOST: 'replica-1.example.com:5432',
    LAKEBASE_POOLER_HOST: 'ep-main-pooler.example.com',
  };

  it("exec --branch: main's read-only endpoint and pooled host are not passed on, and it says so", async () => {
    const run = await cli(
      [
        'exec',
        '--branch',
        'pr-1',
        '--',
        'sh',
        '-c',
        'echo "[$LAKEBASE_READ_ENDPOINT][$LAKEBASE_READ_HOST][$LAKEBASE_POOLER_HOST]"',
      ],
      { ...ownerEnv(), ...mainsComputes },
    );
    expect(run.code, run.stderr).toBe(0);
    expect(run.stdout).toBe('[][][]\n');
    expect(run.stderr).toContain(
      "not passed on, they name another endpoint's computes: LAKEBASE_READ_ENDPOINT, LAKEBASE_READ_HOST, LAKEBASE_POOLER_HOST",
    );
  });

  it('a bad --branch id is refused before any call, naming a valid one', async () => {
    for (const command of [
      ['exec', '--branch', 'PR_1', '--', 'true'],
      ['doctor', '--branch', 'PR_1'],
    ]) {
      const run = await cli(command);
      expect(run.code).toBe(2);
      expect(run.stderr).toContain('Invalid branch id "PR_1"');
      expect(run.stderr).toContain('try "pr-1"');
    }
  });

  it('doctor --branch: checks that branch and says which', async () => {
    // (main's read-only endpoint in the env is not the branch's: it is left out of the check)
    const run = await cli(['doctor', '--branch', 'pr-1', '--json'], {
      ...ownerEnv(),
      ...mainsComputes,
    });
    const report = parsed<{ checks: { id: string; status: string; finding: string }[] }>(run);
    const config = report.checks.find((check) => check.id === 'config')!;
    expect(config.finding).toContain(`(branch ${PROJECT}/branches/pr-1)`);
    const hosts = report.checks.find((check) => check.id === 'hosts')!;
    expect(hosts.status).toBe('ok');
    expect(hosts.finding).toContain(world.lb.branches.get('pr-1')!.host);
  });
});
