/**
 * The per-pull-request workflow of docs/branches.md, run: its YAML block is parsed, and each
 * job's `run:` steps run in order with bash (`-eo pipefail`, as GitHub's runners do), with the
 * workflow's `env` (secrets mapped to a local Lakebase's service principal, the PR number 42),
 * in a tiny fixture app whose `npm run migrate` and `npm test` are real npm scripts and whose
 * `npx lakebase-kit` is this repository's built CLI (linked into its node_modules). Only
 * `npm ci` is not run: the test installs the fixture. The local Lakebase's default branch is
 * the doc's `production` (its LAKEBASE_ENDPOINT is used as written), with the app's schema
 * deployed; the service principal has CAN_MANAGE on the project, as the doc asks.
 *
 * The pull request is opened (create the branch, migrate as the SP, test, doctor), pushed to
 * again (the branch exists: reset to a fresh copy), and closed (delete). What the doc's
 * commands did is then checked in the databases themselves.
 */
import { spawn } from 'node:child_process';
import {
  chmodSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { createRequire } from 'node:module';
import os from 'node:os';
import path from 'node:path';
import { type LocalLakebase, startLocalLakebase } from '@lakebase-kit/local';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
// @ts-expect-error: a plain .mjs script of the repository, without types
import { repoRoot } from '../scripts/pack.mjs';

const DOC = path.join(repoRoot, 'docs', 'branches.md');
const PR_NUMBER = 42;
const cliDir = path.join(repoRoot, 'packages', 'cli');

// biome-ignore lint/suspicious/noExplicitAny: parsed YAML, checked field by field
type Workflow = any;

/** The GitHub Actions workflow of the doc: the ```yaml block that names its file. */
function workflowOf(markdown: string): { file: string; workflow: Workflow } {
  const blocks = [...markdown.matchAll(/^```yaml\n([\s\S]*?)^```$/gm)].map((m) => m[1]!);
  const block = blocks.find((text) => /^# \.github\/workflows\/\S+\.yml$/m.test(text));
  if (!block) throw new Error(`no \`\`\`yaml block naming .github/workflows/… in ${DOC}`);
  return { file: /^# (\S+)$/m.exec(block)![1]!, workflow: parse(block) };
}

/** `${{ … }}` of the workflow, resolved as GitHub would for this event; anything else throws. */
function expressions(text: string, context: { secrets: Record<string, string> }): string {
  return text.replace(/\$\{\{\s*(.*?)\s*\}\}/g, (_, expression: string) => {
    if (expression === 'github.event.number') return String(PR_NUMBER);
    const secret = /^secrets\.(\w+)$/.exec(expression)?.[1];
    if (secret !== undefined) {
      const value = context.secrets[secret];
      if (value === undefined)
        throw new Error(`the doc uses a secret the test has no value for: ${secret}`);
      return value;
    }
    throw new Error(`an expression the test cannot resolve: \${{ ${expression} }}`);
  });
}

/** A job's `if:` for a pull_request event of `action` (the forms the doc uses). */
function runsFor(condition: string | undefined, action: string): boolean {
  if (condition === undefined) return true;
  const match = /^github\.event\.action (==|!=) '(\w+)'$/.exec(condition.trim());
  if (!match) throw new Error(`a job condition the test cannot evaluate: ${condition}`);
  return match[1] === '==' ? action === match[2] : action !== match[2];
}

interface StepRun {
  command: string;
  code: number | null;
  output: string;
}

/** One `run:` step, as a runner runs it: bash -eo pipefail, in the app's directory. */
function runStep(command: string, cwd: string, env: Record<string, string>): Promise<StepRun> {
  return new Promise((resolve) => {
    const bash = spawn('bash', ['--noprofile', '--norc', '-eo', 'pipefail', '-c', command], {
      cwd,
      env,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    bash.stdout!.on('data', (chunk) => (output += chunk));
    bash.stderr!.on('data', (chunk) => (output += chunk));
    bash.once('close', (code) => resolve({ command, code, output }));
  });
}

/** What the test does in place of a step: `npm ci` (the fixture is installed already). */
const NOT_RUN = new Set(['npm ci']);

const scratch = mkdtempSync(path.join(os.tmpdir(), 'lakebase-kit-workflow-'));
chmodSync(scratch, 0o755); // run as root, Postgres (the postgres OS user) enters its data dir
const app = path.join(scratch, 'app');
let lb: LocalLakebase;
let secrets: Record<string, string>;
const { workflow } = workflowOf(readFileSync(DOC, 'utf8'));
const productionEndpoint: string = workflow.env?.LAKEBASE_ENDPOINT;

/** The fixture app: package.json scripts, a migration runner, its tests, the CLI and pg linked. */
function writeApp(): void {
  mkdirSync(path.join(app, 'migrations'), { recursive: true });
  mkdirSync(path.join(app, 'node_modules', '@lakebase-kit'), { recursive: true });
  mkdirSync(path.join(app, 'node_modules', '.bin'), { recursive: true });
  writeFileSync(
    path.join(app, 'package.json'),
    JSON.stringify(
      {
        name: 'pr-fixture-app',
        version: '0.0.0',
        private: true,
        type: 'module',
        scripts: { migrate: 'node migrate.js', test: 'node app.test.js' },
        devDependencies: { '@lakebase-kit/cli': '*', pg: '*' },
      },
      null,
      2,
    ),
  );
  // Migrations in order, each once, recorded in app.migrations (pg reads PG*, as exec sets them).
  writeFileSync(
    path.join(app, 'migrate.js'),
    `import fs from 'node:fs';
import pg from 'pg';
const client = new pg.Client();
await client.connect();
await client.query('create schema if not exists app');
await client.query('create table if not exists app.migrations (name text primary key, at timestamptz default now())');
const done = new Set((await client.query('select name from app.migrations')).rows.map((r) => r.name));
for (const file of fs.readdirSync('migrations').sort()) {
  if (done.has(file)) continue;
  await client.query('begin');
  await client.query(fs.readFileSync(\`migrations/\${file}\`, 'utf8'));
  await client.query('insert into app.migrations (name) values ($1)', [file]);
  await client.query('commit');
  console.log(\`applied \${file} as \${(await client.query('select current_user')).rows[0].current_user}\`);
}
await client.end();
`,
  );
  // The app's tests: they need the PR's migration, and a fresh copy of production each run.
  writeFileSync(
    path.join(app, 'app.test.js'),
    `import assert from 'node:assert/strict';
import pg from 'pg';
const client = new pg.Client();
await client.connect();
const { rows: [who] } = await client.query('select current_user as role');
assert.equal(who.role, process.env.DATABRICKS_CLIENT_ID, 'the tests run as the service principal');
assert.match(process.env.LAKEBASE_ENDPOINT, /\\/branches\\/pr-\\d+\\//, 'the tests run on the PR branch');
await client.query("insert into app.todos (title, done) values ('written by the PR tests', true)");
const { rows: [count] } = await client.query("select count(*)::int as n from app.todos where title = 'written by the PR tests'");
assert.equal(count.n, 1, 'each run starts from a fresh copy of production');
await client.end();
console.log('app tests passed');
`,
  );
  writeFileSync(
    path.join(app, 'migrations', '001-todos.sql'),
    'create table app.todos (id serial primary key, title text not null);\n',
  );
  const requireFromCli = createRequire(path.join(cliDir, 'package.json'));
  symlinkSync(cliDir, path.join(app, 'node_modules', '@lakebase-kit', 'cli'));
  symlinkSync(
    path.dirname(requireFromCli.resolve('pg/package.json')),
    path.join(app, 'node_modules', 'pg'),
  );
  symlinkSync(
    '../@lakebase-kit/cli/bin/lakebase-kit.js',
    path.join(app, 'node_modules', '.bin', 'lakebase-kit'),
  );
}

/** The runner's environment: a clean one, plus the workflow's env (secrets resolved). */
function runnerEnv(): Record<string, string> {
  const env: Record<string, string> = {
    PATH: process.env.PATH ?? '',
    HOME: path.join(scratch, 'home'),
    CI: 'true',
    GITHUB_EVENT_NAME: 'pull_request',
    // npm never reaches a registry here: every package the steps need is installed.
    npm_config_offline: 'true',
    npm_config_cache: path.join(scratch, 'npm-cache'),
    npm_config_update_notifier: 'false',
    npm_config_fund: 'false',
    // The local Lakebase's CA: a real runner verifies Lakebase with the system's CAs.
    PGSSLROOTCERT: lb.env.PGSSLROOTCERT!,
  };
  for (const [key, value] of Object.entries(workflow.env ?? {})) {
    env[key] = expressions(String(value), { secrets });
  }
  return env;
}

/** Runs the jobs the event `action` triggers; resolves their steps' runs (stops at a failure). */
async function pullRequest(action: string): Promise<StepRun[]> {
  const runs: StepRun[] = [];
  const env = runnerEnv();
  for (const [name, job] of Object.entries(workflow.jobs) as [string, Workflow][]) {
    if (!runsFor(job.if, action)) continue;
    for (const step of job.steps as Workflow[]) {
      if (step.uses) continue; // checkout, setup-node: the fixture is here, Node is this one
      if (typeof step.run !== 'string')
        throw new Error(`job ${name}: a step with neither uses nor run`);
      const command = expressions(step.run.trim(), { secrets });
      if (NOT_RUN.has(command)) continue;
      const stepEnv = { ...env };
      for (const [key, value] of Object.entries(step.env ?? {})) {
        stepEnv[key] = expressions(String(value), { secrets });
      }
      const run = await runStep(command, app, stepEnv);
      runs.push(run);
      if (run.code !== 0) {
        throw new Error(`job ${name}, step \`${command}\` failed (${run.code}):\n${run.output}`);
      }
    }
  }
  return runs;
}

const PR_BRANCH = `pr-${PR_NUMBER}`;
const project = () => productionEndpoint.split('/branches/')[0]!;
/** Superuser SQL on a branch of the local project (what the checks read). */
const onBranch = (id: string, text: string) => {
  const branch = lb.branches.get(id);
  if (!branch) throw new Error(`branch ${id} is not running`);
  return branch.sql(text);
};
const production = () => productionEndpoint.split('/branches/')[1]!.split('/')[0]!;

beforeAll(async () => {
  mkdirSync(path.join(scratch, 'home'));
  const dataDir = path.join(scratch, 'lakebase');
  mkdirSync(dataDir);
  const options = { endpoint: productionEndpoint, database: workflow.env?.PGDATABASE, dataDir };
  // The service principal's client id is made at the first start; CAN_MANAGE needs it.
  const first = await startLocalLakebase(options);
  const sp = first.env.DATABRICKS_CLIENT_ID;
  await first.stop();
  lb = await startLocalLakebase({ ...options, projectPermissions: { [sp]: 'CAN_MANAGE' } });
  secrets = {
    DATABRICKS_HOST: lb.env.DATABRICKS_HOST,
    APP_SP_CLIENT_ID: lb.env.DATABRICKS_CLIENT_ID,
    APP_SP_CLIENT_SECRET: lb.env.DATABRICKS_CLIENT_SECRET,
  };
  writeApp();
  // Production as deployed: the app's migrations so far, run by the app (its SP) itself.
  const deployed = await runStep(
    'node node_modules/.bin/lakebase-kit exec -- npm run migrate',
    app,
    { ...runnerEnv(), ...lb.env },
  );
  if (deployed.code !== 0) throw new Error(`deploying the fixture failed:\n${deployed.output}`);
  // The pull request: a second migration.
  writeFileSync(
    path.join(app, 'migrations', '002-done.sql'),
    'alter table app.todos add column done boolean not null default false;\n',
  );
}, 120_000);

afterAll(async () => {
  await lb?.stop();
  rmSync(scratch, { recursive: true, force: true });
});

describe('docs/branches.md: the per-pull-request workflow, run', () => {
  it('is a pull_request workflow with a test job (not on close) and a cleanup job (on close)', () => {
    expect(workflow.on.pull_request.types).toEqual(
      expect.arrayContaining(['opened', 'synchronize', 'reopened', 'closed']),
    );
    expect(runsFor(workflow.jobs.test.if, 'opened')).toBe(true);
    expect(runsFor(workflow.jobs.test.if, 'closed')).toBe(false);
    expect(runsFor(workflow.jobs.cleanup.if, 'closed')).toBe(true);
    expect(runsFor(workflow.jobs.cleanup.if, 'synchronize')).toBe(false);
    expect(productionEndpoint).toMatch(/^projects\/[^/]+\/branches\/[^/]+\/endpoints\/[^/]+$/);
    expect(lb.branch).toBe(`${project()}/branches/${production()}`);
  });

  it('opened: a branch named after the PR with a TTL; migrations as the SP; tests; doctor', async () => {
    const runs = await pullRequest('opened');
    const commands = runs.map((run) => run.command);
    expect(commands.some((c) => c.includes('lakebase-kit branch create "$BRANCH"'))).toBe(true);
    const [migrate] = runs.filter((run) => run.command.includes('npm run migrate'));
    expect(migrate!.output).toContain(`applied 002-done.sql as ${secrets.APP_SP_CLIENT_ID}`);
    expect(migrate!.output).not.toContain('applied 001-todos.sql'); // production had it
    expect(runs.find((run) => run.command.includes('npm test'))!.output).toContain(
      'app tests passed',
    );
    const doctor = runs.find((run) => run.command.includes('lakebase-kit doctor'))!;
    expect(doctor.output).toContain(`(branch ${project()}/branches/${PR_BRANCH})`);
    expect(doctor.output).toMatch(
      new RegExp(`^ok\\s+ownership\\s+${secrets.APP_SP_CLIENT_ID} owns every object in app$`, 'm'),
    );

    // The branch: named after the PR, expiring 72 hours after it was made.
    const api = await fetch(
      `${lb.env.DATABRICKS_HOST}/api/2.0/postgres/${project()}/branches/${PR_BRANCH}`,
      { headers: { authorization: `Bearer ${lb.userToken(lb.projectOwner)}` } },
    );
    const branch = (await api.json()) as {
      create_time: string;
      spec: { ttl?: string; source_branch?: string };
      status: { expire_time: string };
    };
    expect(branch.spec).toMatchObject({ ttl: `${72 * 3600}s`, source_branch: lb.branch });
    expect(Date.parse(branch.status.expire_time) - Date.parse(branch.create_time)).toBe(
      72 * 3600_000,
    );
    // The PR's migration ran there, as the SP, which owns what it made …
    expect(await onBranch(PR_BRANCH, 'select name from app.migrations order by name')).toEqual([
      { name: '001-todos.sql' },
      { name: '002-done.sql' },
    ]);
    expect(
      await onBranch(PR_BRANCH, "select tableowner from pg_tables where schemaname = 'app'"),
    ).toEqual([{ tableowner: secrets.APP_SP_CLIENT_ID }, { tableowner: secrets.APP_SP_CLIENT_ID }]);
    // … and nothing of it, nor the tests' row, reached production.
    const columns =
      "select column_name from information_schema.columns where table_name = 'todos' order by 1";
    expect(await onBranch(production(), columns)).toEqual([
      { column_name: 'id' },
      { column_name: 'title' },
    ]);
    expect(await onBranch(production(), 'select count(*)::int as n from app.todos')).toEqual([
      { n: 0 },
    ]);
  });

  it('synchronize: the branch exists, so it is reset to a fresh copy of production and tested again', async () => {
    const before = await onBranch(PR_BRANCH, 'select count(*)::int as n from app.todos');
    expect(before).toEqual([{ n: 1 }]); // the first run's row
    const runs = await pullRequest('synchronize');
    const create = runs.find((run) => run.command.includes('branch create'))!;
    expect(create.output).toContain('exists already');
    expect(create.output).toContain(`${project()}/branches/${PR_BRANCH} was reset`);
    // The app's tests assert a single row of theirs: the reset made that so.
    expect(runs.find((run) => run.command.includes('npm test'))!.output).toContain(
      'app tests passed',
    );
    expect(await onBranch(PR_BRANCH, 'select count(*)::int as n from app.todos')).toEqual([
      { n: 1 },
    ]);
  });

  it('closed: the branch is deleted (soft, as the API does)', async () => {
    const runs = await pullRequest('closed');
    expect(runs.map((run) => run.command)).toEqual([
      expect.stringContaining('lakebase-kit branch delete "$BRANCH"'),
    ]);
    expect(runs[0]!.output).toContain(`${project()}/branches/${PR_BRANCH} was deleted`);
    expect(lb.branches.list()).not.toContain(PR_BRANCH);
    expect(lb.branches.get(PR_BRANCH)).toBeUndefined();
    expect(lb.branches.list()).toContain(production());
  });
});
