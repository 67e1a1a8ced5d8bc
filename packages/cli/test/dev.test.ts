import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { main } from '../src/index.js';

const bin = fileURLToPath(new URL('../dist/bin.js', import.meta.url));
let cwd: string;
let child: ChildProcess | undefined;

beforeAll(async () => {
  cwd = await fs.mkdtemp(path.join(os.tmpdir(), 'lakebase-cli-test-'));
  await fs.chmod(cwd, 0o755);
});
afterAll(async () => {
  if (child && child.exitCode === null) child.kill('SIGTERM');
  await fs.rm(cwd, { recursive: true, force: true });
});

function parseEnv(text: string): Record<string, string> {
  const env: Record<string, string> = {};
  for (const line of text.split('\n')) {
    const match = /^([A-Z0-9_]+)=(.*)$/.exec(line);
    if (match) env[match[1]!] = match[2]!;
  }
  return env;
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/**
 * `command args` started in `dir`, resolved once it says it runs ("Press Ctrl+C to stop.");
 * rejected when it exits first. `output()`: all it has printed so far, stdout and stderr.
 */
async function startDev(command: string, args: string[], dir: string) {
  const proc = spawn(command, args, { cwd: dir, stdio: ['ignore', 'pipe', 'pipe'] });
  child = proc;
  let output = '';
  proc.stdout!.on('data', (chunk) => (output += chunk));
  proc.stderr!.on('data', (chunk) => (output += chunk));
  const exited = new Promise<number | null>((resolve) => proc.once('exit', resolve));
  await new Promise<void>((resolve, reject) => {
    proc.stdout!.on('data', () => output.includes('Press Ctrl+C to stop.') && resolve());
    exited.then((code) => reject(new Error(`dev exited early (${code}): ${output}`)));
  });
  return { proc, exited, output: () => output };
}

function collect(io: { out: string[]; err: string[] }) {
  return {
    stdout: (text: string) => io.out.push(text),
    stderr: (text: string) => io.err.push(text),
    cwd: process.cwd(),
    env: process.env,
  };
}

describe('lakebase-kit dispatcher', () => {
  it('--help lists the commands (exit 0); no command → usage, exit 2', async () => {
    const io = { out: [] as string[], err: [] as string[] };
    expect(await main(['--help'], collect(io))).toBe(0);
    expect(io.out.join('')).toMatch(/Commands:\n\s+dev\s/);
    expect(await main([], collect(io))).toBe(2);
  });

  it('unknown command and unknown option → exit 2 with help', async () => {
    const io = { out: [] as string[], err: [] as string[] };
    expect(await main(['nope'], collect(io))).toBe(2);
    expect(io.err.join('')).toContain('Unknown command "nope"');
    expect(await main(['dev', '--bogus'], collect(io))).toBe(2);
    expect(io.err.join('')).toContain('Usage: lakebase-kit dev');
    expect(await main(['dev', '--port', 'x'], collect(io))).toBe(2);
    expect(io.err.join('')).toContain('--port must be a port number');
  });

  it('dev --help prints its options', async () => {
    const io = { out: [] as string[], err: [] as string[] };
    expect(await main(['dev', '--help'], collect(io))).toBe(0);
    expect(io.out.join('')).toContain('--data-dir <dir>');
  });
});

describe('lakebase-kit dev (built bin)', () => {
  it('starts, writes .env.local, serves a working Lakebase, and stops cleanly on SIGINT', async () => {
    const dataDir = path.join(cwd, 'data');
    child = spawn(
      process.execPath,
      [bin, 'dev', '--data-dir', dataDir, '--users', 'ann@example.com,ben@example.com'],
      {
        cwd,
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    );
    let stdout = '';
    let stderr = '';
    child.stdout!.on('data', (chunk) => {
      stdout += chunk;
    });
    child.stderr!.on('data', (chunk) => {
      stderr += chunk;
    });
    const exited = new Promise<number | null>((resolve) =>
      child!.once('exit', (code) => resolve(code)),
    );
    await new Promise<void>((resolve, reject) => {
      const check = () => {
        if (stdout.includes('Press Ctrl+C to stop.')) resolve();
      };
      child!.stdout!.on('data', check);
      exited.then((code) => reject(new Error(`dev exited early (${code}): ${stderr}`)));
    });

    const env = parseEnv(readFileSync(path.join(cwd, '.env.local'), 'utf8'));
    expect(Object.keys(env).sort()).toEqual(
      [
        'DATABRICKS_CLIENT_ID',
        'DATABRICKS_CLIENT_SECRET',
        'DATABRICKS_HOST',
        'LAKEBASE_ENDPOINT',
        'PGDATABASE',
        'PGHOST',
        'PGPORT',
        'PGSSLMODE',
        'PGSSLROOTCERT',
        'PGUSER',
        'LAKEBASE_LOCAL_USER_TOKENS',
      ].sort(),
    );
    expect(env.LAKEBASE_LOCAL_USER_TOKENS).toMatch(
      /^ann@example\.com=lbk_at_\S+,ben@example\.com=lbk_at_\S+$/,
    );
    expect(stdout).toContain(`PGPORT=${env.PGPORT}`);
    expect(stdout).toContain("-H 'x-forwarded-email: ann@example.com'");
    expect(stdout).toContain("-H 'x-forwarded-email: ben@example.com'");

    // The printed user header works as a bearer for the credential API; its token logs in.
    const userBearer = /x-forwarded-access-token: (\S+)'/.exec(stdout)![1]!;
    const credential = await fetch(`${env.DATABRICKS_HOST}/api/2.0/postgres/credentials`, {
      method: 'POST',
      headers: { authorization: `Bearer ${userBearer}`, 'content-type': 'application/json' },
      body: JSON.stringify({ endpoint: env.LAKEBASE_ENDPOINT }),
    });
    expect(credential.status).toBe(200);
    const { token } = (await credential.json()) as { token: string };
    const client = new pg.Client({
      host: env.PGHOST,
      port: Number(env.PGPORT),
      database: env.PGDATABASE,
      user: 'ann@example.com',
      password: token,
      ssl: { ca: readFileSync(env.PGSSLROOTCERT!, 'utf8') },
    });
    await client.connect();
    expect((await client.query('select current_user')).rows[0].current_user).toBe(
      'ann@example.com',
    );
    await client.end();

    // The project owner's env file: doctor (run as the app, with .env.local) prints a fix for a
    // user without a role; that fix runs as printed with .env.owner.local loaded, as documented.
    const ownerFile = path.join(cwd, '.env.owner.local');
    expect((await fs.stat(ownerFile)).mode & 0o777).toBe(0o600);
    const ownerEnv = parseEnv(readFileSync(ownerFile, 'utf8'));
    expect(ownerEnv.PGUSER).toBe('owner@example.com');
    expect(stdout).toContain('(set -a; . ./.env.owner.local; set +a; lakebase-kit roles list)');
    const launcherDir = fileURLToPath(new URL('../../../node_modules/.bin', import.meta.url));
    const shell = (script: string) =>
      new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve) => {
        const sh = spawn('/bin/sh', ['-c', script], {
          cwd,
          env: { PATH: `${launcherDir}:${process.env.PATH}`, HOME: cwd },
          stdio: ['ignore', 'pipe', 'pipe'],
        });
        const out = { stdout: '', stderr: '' };
        sh.stdout!.on('data', (chunk) => (out.stdout += chunk));
        sh.stderr!.on('data', (chunk) => (out.stderr += chunk));
        sh.once('close', (code) => resolve({ code, ...out }));
      });
    const asApp = 'set -a; . ./.env.local; set +a; lakebase-kit doctor --identity cara@example.com';
    const before = await shell(asApp);
    expect(before.code).toBe(1);
    const fix = /^ERROR\s+user-roles\s.*\n\s+fix: (.*)$/m.exec(before.stdout)![1]!;
    expect(fix).toBe('lakebase-kit roles add cara@example.com');
    // as the app itself the fix is refused (the roles API needs CAN_MANAGE) …
    expect((await shell(`set -a; . ./.env.local; set +a; ${fix}`)).code).toBe(2);
    // … as the owner, with the file dev wrote, it runs as printed
    const added = await shell(`(set -a; . ./.env.owner.local; set +a; ${fix})`);
    expect(added.stderr).toBe('');
    expect(added.code).toBe(0);
    const after = await shell(asApp);
    expect(after.stdout).toMatch(/^ok\s+user-roles\s+all 1 identities seen have a Postgres role/m);
    expect(after.code).toBe(0);

    const postmaster = Number(
      readFileSync(path.join(dataDir, 'pgdata', 'postmaster.pid'), 'utf8').split('\n')[0],
    );
    expect(alive(postmaster)).toBe(true);
    child.kill('SIGINT');
    expect(await exited).toBe(0);
    expect(stderr).toContain('Stopped.');
    expect(alive(postmaster)).toBe(false);
    expect(existsSync(path.join(dataDir, 'pgdata', 'postmaster.pid'))).toBe(false);
    expect(existsSync(path.join(dataDir, 'pgdata', 'PG_VERSION'))).toBe(true);
    expect(existsSync(path.join(cwd, '.env.local'))).toBe(false); // removed on the way out
    expect(existsSync(ownerFile)).toBe(false);
  });

  it('--replicas 1 --pooler: the pooled host and the replica in the env file, all stopped on SIGTERM', async () => {
    // Its own directory (and the default env file there): Node 20 would take --env-file itself.
    const dir = path.join(cwd, 'scaled');
    await fs.mkdir(dir);
    const dataDir = path.join(dir, 'data');
    const envFile = path.join(dir, '.env.local');
    const args = ['dev', '--data-dir', dataDir, '--users', 'ann@example.com'];
    const { proc, exited, output } = await startDev(
      process.execPath,
      [bin, ...args, '--replicas', '1', '--pooler'],
      dir,
    );
    try {
      const env = parseEnv(readFileSync(envFile, 'utf8'));
      expect(env).toMatchObject({
        LAKEBASE_REPLICA_1_ENDPOINT: 'projects/local/branches/main/endpoints/read-replica-1',
        // the app's own: pooled mode and lakebase.read on the first replica
        LAKEBASE_POOLER: 'true',
        LAKEBASE_READ_ENDPOINT: 'projects/local/branches/main/endpoints/read-replica-1',
        LAKEBASE_READ_HOST: env.LAKEBASE_REPLICA_1_HOST,
        LAKEBASE_READ_PORT: env.LAKEBASE_REPLICA_1_PORT,
      });
      expect(env.LAKEBASE_POOLER_HOST).toMatch(/^127\.0\.0\.\d+$/);
      expect(output()).toContain(
        `PGHOST=${env.LAKEBASE_POOLER_HOST} PGPORT=${env.LAKEBASE_POOLER_PORT}`,
      );
      const userBearer = /x-forwarded-access-token: (\S+)'/.exec(output())![1]!;
      const login = async (host: string, port: string, endpoint: string) => {
        const credential = await fetch(`${env.DATABRICKS_HOST}/api/2.0/postgres/credentials`, {
          method: 'POST',
          headers: { authorization: `Bearer ${userBearer}`, 'content-type': 'application/json' },
          body: JSON.stringify({ endpoint }),
        });
        const { token } = (await credential.json()) as { token: string };
        const client = new pg.Client({
          host,
          port: Number(port),
          database: env.PGDATABASE,
          user: 'ann@example.com',
          password: token,
          ssl: { ca: readFileSync(env.PGSSLROOTCERT!, 'utf8') },
        });
        await client.connect();
        const { rows } = await client.query('select pg_is_in_recovery() as standby');
        await client.end();
        return rows[0].standby as boolean;
      };
      expect(
        await login(env.LAKEBASE_POOLER_HOST!, env.LAKEBASE_POOLER_PORT!, env.LAKEBASE_ENDPOINT!),
      ).toBe(false);
      expect(
        await login(
          env.LAKEBASE_REPLICA_1_HOST!,
          env.LAKEBASE_REPLICA_1_PORT!,
          env.LAKEBASE_REPLICA_1_ENDPOINT!,
        ),
      ).toBe(true);
      const processes = () =>
        execFileSync('ps', ['-eo', 'args'], { encoding: 'utf8' })
          .split('\n')
          .filter(
            (line) => line.includes(dataDir) && (/ -D /.test(line) || /pgbouncer/.test(line)),
          );
      expect(processes()).toHaveLength(4); // primary, replica, two PgBouncers
      proc.kill('SIGTERM');
      expect(await exited).toBe(0);
      expect(processes()).toEqual([]);
      expect(existsSync(envFile)).toBe(false);
    } finally {
      // A failed assertion must not leave the dev process (and its Postgres, PgBouncers) behind.
      if (proc.exitCode === null && proc.signalCode === null) proc.kill('SIGTERM');
    }
  });

  it('--replicas takes a small number', async () => {
    const io = { out: [] as string[], err: [] as string[] };
    expect(await main(['dev', '--replicas', 'many'], collect(io))).toBe(2);
    expect(io.err.join('')).toContain('--replicas must be a number from 0 to 8');
  });

  it('never overwrites (nor removes on exit) an env file it did not write: exit 2 before starting', async () => {
    const dir = path.join(cwd, 'foreign');
    await fs.mkdir(dir);
    const mine = 'API_KEY=keep-me\n';
    for (const [file, flag] of [
      ['.env.local', '--env-file'],
      ['.env.owner.local', '--owner-env-file'],
    ] as const) {
      const foreign = path.join(dir, file);
      await fs.writeFile(foreign, mine);
      const io = { out: [] as string[], err: [] as string[] };
      const args = ['dev', '--env-file', path.join(dir, '.env.local')];
      expect(await main(args, collect(io)), file).toBe(2);
      expect(io.err.join(''), file).toContain('exists and was not written by lakebase-kit dev');
      expect(io.err.join(''), file).toContain(`pass ${flag} <another file>`);
      expect(readFileSync(foreign, 'utf8')).toBe(mine);
      await fs.rm(foreign);
    }
  });

  it('--env-file <a file that does not exist yet> through the package manager bin (Node takes no flag)', async () => {
    // The launcher pnpm links into the repo root's node_modules/.bin, as `pnpm exec` runs it.
    const shim = fileURLToPath(new URL('../../../node_modules/.bin/lakebase-kit', import.meta.url));
    const envFile = path.join(cwd, 'not-yet', 'new.env');
    await fs.mkdir(path.dirname(envFile));
    const { proc, exited, output } = await startDev(
      shim,
      ['dev', '--env-file', envFile, '--users', 'ann@example.com'],
      cwd,
    );
    expect(output()).toContain(`written to ${envFile}`);
    expect(parseEnv(readFileSync(envFile, 'utf8')).LAKEBASE_LOCAL_USER_TOKENS).toMatch(
      /^ann@example\.com=lbk_at_/,
    );
    proc.kill('SIGINT');
    expect(await exited).toBe(0);
    expect(existsSync(envFile)).toBe(false);
  });
});

describe('lakebase-kit dev --branch (built bin)', () => {
  it('--branch: bad ids and combinations are usage errors (exit 2)', async () => {
    const io = { out: [] as string[], err: [] as string[] };
    expect(await main(['dev', '--branch', 'Dev_Alice'], collect(io))).toBe(2);
    expect(io.err.join('')).toContain('Invalid --branch id "Dev_Alice"');
    expect(io.err.join('')).toContain('try "dev-alice"');
    expect(await main(['dev', '--branch', 'dev-ann', '--replicas', '1'], collect(io))).toBe(2);
    expect(io.err.join('')).toContain('--branch cannot be combined with --replicas or --pooler');
    expect(await main(['dev', '--branch', 'main'], collect(io))).toBe(2);
    expect(io.err.join('')).toContain('--branch main is the main branch itself');
  });

  it("a developer's own branch: migrations as the service principal land there, the doctor confirms the owner, main is untouched", async () => {
    const dir = path.join(cwd, 'own-branch');
    await fs.mkdir(dir);
    const { proc, exited, output } = await startDev(
      process.execPath,
      [bin, 'dev', '--branch', 'dev-ann', '--users', 'ann@example.com'],
      dir,
    );
    try {
      const branchEndpoint = 'projects/local/branches/dev-ann/endpoints/primary';
      const env = parseEnv(readFileSync(path.join(dir, '.env.local'), 'utf8'));
      expect(env.LAKEBASE_ENDPOINT).toBe(branchEndpoint);
      expect(env.PGHOST).toMatch(/^127\.0\.0\.\d+$/);
      expect(env.PGUSER).toBe(env.DATABRICKS_CLIENT_ID);
      const owner = parseEnv(readFileSync(path.join(dir, '.env.owner.local'), 'utf8'));
      expect(owner).toMatchObject({ LAKEBASE_ENDPOINT: branchEndpoint, PGHOST: env.PGHOST });
      const main = /^# Main branch: LAKEBASE_ENDPOINT=(\S+) PGHOST=(\S+) PGPORT=(\d+)$/m.exec(
        output(),
      );
      expect(main, output()).not.toBeNull();
      const [, mainEndpoint, mainHost, mainPort] = main as unknown as string[];
      expect(mainEndpoint).toBe('projects/local/branches/main/endpoints/primary');
      expect(`${mainHost}:${mainPort}`).not.toBe(`${env.PGHOST}:${env.PGPORT}`);
      expect(output()).toContain(
        '(set -a; . ./.env.local; set +a; lakebase-kit exec -- npm run migrate && lakebase-kit doctor)',
      );

      const launcherDir = fileURLToPath(new URL('../../../node_modules/.bin', import.meta.url));
      const shell = (script: string) =>
        new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve) => {
          const sh = spawn('/bin/sh', ['-c', script], {
            cwd: dir,
            env: { PATH: `${launcherDir}:${process.env.PATH}`, HOME: dir },
            stdio: ['ignore', 'pipe', 'pipe'],
          });
          const out = { stdout: '', stderr: '' };
          sh.stdout!.on('data', (chunk) => (out.stdout += chunk));
          sh.stderr!.on('data', (chunk) => (out.stderr += chunk));
          sh.once('close', (code) => resolve({ code, ...out }));
        });
      const asApp = (command: string) => shell(`set -a; . ./.env.local; set +a; ${command}`);
      const asOwner = (command: string) =>
        shell(`set -a; . ./.env.owner.local; set +a; ${command}`);
      // The "migration", as the printed line runs it: lakebase-kit exec with .env.local loaded.
      const migrate = await asApp(
        `lakebase-kit exec -- psql -v ON_ERROR_STOP=1 -qc "create schema app; ` +
          `create table app.items (id int primary key, name text); insert into app.items values (1, 'on the branch')"`,
      );
      expect(migrate.stderr).toBe('');
      expect(migrate.code).toBe(0);
      const doctor = await asApp('lakebase-kit doctor --json');
      expect(doctor.code, doctor.stdout + doctor.stderr).toBe(0);
      const checks = (text: string) =>
        Object.fromEntries(
          (JSON.parse(text).checks as { id: string; status: string; finding: string }[]).map(
            (check) => [check.id, check],
          ),
        );
      const report = checks(doctor.stdout);
      expect(report.config!.finding).toContain('(branch projects/local/branches/dev-ann)');
      expect(report.hosts!.status).toBe('ok');
      expect(report.ownership).toMatchObject({
        status: 'ok',
        finding: `${env.DATABRICKS_CLIENT_ID} owns every object in app`,
      });
      // Main is as it was: no schema app there.
      const onMain = await asApp(
        `lakebase-kit exec --endpoint ${mainEndpoint} --host ${mainHost} --port ${mainPort} -- ` +
          `psql -Atc "select count(*) from pg_namespace where nspname = 'app'"`,
      );
      expect(onMain.stderr).toBe('');
      expect(onMain.stdout).toBe('0\n');
      // The doctor can tell: what another identity makes (here the owner, on the branch) is flagged.
      const stray = await asOwner(
        `lakebase-kit exec -- psql -v ON_ERROR_STOP=1 -qc "create schema scratch; create table scratch.notes (body text)"`,
      );
      expect(stray.code, stray.stderr).toBe(0);
      const after = await asApp('lakebase-kit doctor --json');
      expect(after.code).toBe(1);
      expect(checks(after.stdout).ownership).toMatchObject({
        status: 'error',
        finding: expect.stringContaining('table scratch.notes (owner "owner@example.com")'),
      });

      proc.kill('SIGINT');
      expect(await exited).toBe(0);
      expect(existsSync(path.join(dir, '.env.local'))).toBe(false);
      expect(existsSync(path.join(dir, '.env.owner.local'))).toBe(false);
    } finally {
      if (proc.exitCode === null && proc.signalCode === null) proc.kill('SIGTERM');
    }
  });
});
