/**
 * `lakebase-kit env`: the libpq variables (PGHOST PGPORT PGDATABASE PGUSER PGPASSWORD
 * PGSSLMODE) and DATABASE_URL for the current identity, with a fresh token as the password.
 * stdout holds nothing but those lines; the secret warning goes to stderr.
 */
import { parseArgs } from 'node:util';
import {
  ConfigurationError,
  generateDatabaseCredential,
  getUsernameWithApiLookup,
  type SslMode,
} from '@lakebase-kit/core';
import { createWorkspaceClient, resolveConfig } from '@lakebase-kit/core/admin';
import { type Command, type CommandIO, UsageError } from './command.js';
import { actingIdentity, assertSameUser } from './identity.js';
import {
  CONNECTION_FLAGS,
  CONNECTION_HELP,
  type ConnectionFlags,
  fail,
  resolveEndpoint,
} from './token.js';

export interface ConnectionVars {
  PGHOST: string;
  PGPORT: string;
  PGDATABASE: string;
  PGUSER: string;
  PGPASSWORD: string;
  PGSSLMODE: string;
  /** Only when a root certificate is configured (`--sslrootcert` / PGSSLROOTCERT). */
  PGSSLROOTCERT?: string;
  DATABASE_URL: string;
}

export type EnvFormat = 'shell' | 'dotenv' | 'json';

/** Flags of `env` and `exec` on top of the connection flags. */
export const TARGET_FLAGS = {
  ...CONNECTION_FLAGS,
  host: { type: 'string' },
  port: { type: 'string' },
  database: { type: 'string' },
  sslmode: { type: 'string' },
  sslrootcert: { type: 'string' },
} as const;

export const TARGET_HELP = `${CONNECTION_HELP}
  --host <host>       Postgres host (default: $PGHOST)
  --port <port>       default: $PGPORT or 5432
  --database <name>   default: $PGDATABASE
  --sslmode <mode>    default: $PGSSLMODE or require
  --sslrootcert <f>   CA certificate file to verify the server with (default: $PGSSLROOTCERT)`;

export const ENV_HELP = `Usage: lakebase-kit env [options]

Prints PGHOST PGPORT PGDATABASE PGUSER PGPASSWORD PGSSLMODE (PGSSLROOTCERT) and DATABASE_URL
for the current Databricks identity, the password being a fresh Lakebase token (valid for
about an hour).
They hold a secret: do not commit or log them.

Options:
  --format <f>        shell (default: export lines), dotenv (KEY="value") or json
${TARGET_HELP}

Examples:
  eval "$(lakebase-kit env)" && psql -c 'select current_user'
  lakebase-kit env --format dotenv > .env.lakebase   # keep it out of git
  eval "$(lakebase-kit env --user bob@example.com)"  # with lakebase-kit dev's .env.local loaded
`;

export interface TargetFlags extends ConnectionFlags {
  host?: string;
  port?: string;
  database?: string;
  sslmode?: string;
  sslrootcert?: string;
}

/**
 * The `sslmode` of `DATABASE_URL` for a configured mode. Ours `require` verifies the chain and the
 * host name (as pg 8 does for `sslmode=require` in a URL); pg-connection-string 2.x warns — a
 * multi-line "SECURITY WARNING" on stderr — on every URL with `prefer`, `require` or
 * `verify-ca` (they become libpq's weaker modes in pg 9), and stays quiet on `verify-full`, which
 * means the same check now and in pg 9, and in libpq. So `require` is written `verify-full`.
 * (`uselibpqcompat=true&sslmode=require` is quiet too, but means libpq's `require`: no
 * verification at all, or no host-name check with a CA file; and libpq refuses the parameter.)
 * The weaker modes are written as given: pg's warning is then the truth.
 */
export function urlSslMode(mode: string): string {
  return mode === 'require' ? 'verify-full' : mode;
}

/**
 * `postgresql://user:password@host:port/database?sslmode=...[&sslrootcert=...]`, all encoded;
 * `sslmode=require` written `verify-full` (see `urlSslMode`).
 */
export function databaseUrl(vars: Omit<ConnectionVars, 'DATABASE_URL'>): string {
  const host = vars.PGHOST.includes(':') ? `[${vars.PGHOST}]` : vars.PGHOST;
  const auth = `${encodeURIComponent(vars.PGUSER)}:${encodeURIComponent(vars.PGPASSWORD)}`;
  const rootCert = vars.PGSSLROOTCERT
    ? `&sslrootcert=${encodeURIComponent(vars.PGSSLROOTCERT)}`
    : '';
  const query = `sslmode=${encodeURIComponent(urlSslMode(vars.PGSSLMODE))}${rootCert}`;
  return `postgresql://${auth}@${host}:${vars.PGPORT}/${encodeURIComponent(vars.PGDATABASE)}?${query}`;
}

/** The variables for the current identity, with a freshly minted token. */
export async function connectionVars(
  flags: TargetFlags,
  env: NodeJS.ProcessEnv,
): Promise<{ vars: ConnectionVars; expireTime: string }> {
  const endpoint = resolveEndpoint(flags, env);
  const acting = actingIdentity(flags, env);
  const sslRootCert = flags.sslrootcert?.trim() || acting.env.PGSSLROOTCERT?.trim() || undefined;
  const config = resolveConfig(
    {
      endpoint,
      host: flags.host,
      port: flags.port === undefined ? undefined : (flags.port as unknown as number),
      database: flags.database,
      user: acting.user,
      sslMode: flags.sslmode as SslMode | undefined,
      sslRootCert,
      telemetry: false,
    },
    acting.env,
  );
  const workspaceClient = createWorkspaceClient(acting.env);
  // The credential first: when auth is missing or wrong, its error says so plainly.
  const credential = await generateDatabaseCredential(workspaceClient, { endpoint });
  if (acting.verifyUser) {
    assertSameUser(acting, (await workspaceClient.currentUser.me()).userName ?? '');
  }
  const user = config.user ?? (await getUsernameWithApiLookup({ workspaceClient }, acting.env));
  if (user === undefined) {
    throw new ConfigurationError(
      'Cannot determine the Postgres user: pass --user, or set PGUSER (or DATABRICKS_CLIENT_ID); ' +
        'the workspace lookup (SCIM currentUser.me) failed',
      { option: 'user', envVar: 'PGUSER' },
    );
  }
  const base = {
    PGHOST: config.host,
    PGPORT: String(config.port),
    PGDATABASE: config.database,
    PGUSER: user,
    PGPASSWORD: credential.token,
    PGSSLMODE: config.sslMode,
    ...(sslRootCert && config.sslMode !== 'disable' ? { PGSSLROOTCERT: sslRootCert } : {}),
  };
  return { vars: { ...base, DATABASE_URL: databaseUrl(base) }, expireTime: credential.expire_time };
}

const shellQuote = (value: string): string => `'${value.replaceAll("'", `'\\''`)}'`;
const dotenvQuote = (value: string): string =>
  `"${value.replaceAll('\\', '\\\\').replaceAll('"', '\\"').replaceAll('\n', '\\n')}"`;

export function formatVars(vars: ConnectionVars, format: EnvFormat): string {
  const entries = Object.entries(vars).filter(
    (entry): entry is [string, string] => entry[1] !== undefined,
  );
  switch (format) {
    case 'json':
      return `${JSON.stringify(vars, null, 2)}\n`;
    case 'dotenv':
      return entries.map(([k, v]) => `${k}=${dotenvQuote(v)}\n`).join('');
    default:
      return entries.map(([k, v]) => `export ${k}=${shellQuote(v)}\n`).join('');
  }
}

const FORMATS: readonly EnvFormat[] = ['shell', 'dotenv', 'json'];

async function run(argv: string[], io: CommandIO): Promise<number> {
  let verbose = argv.includes('--verbose') || argv.includes('-v');
  try {
    const { values } = parseArgs({
      args: argv,
      options: { ...TARGET_FLAGS, format: { type: 'string' } },
      strict: true,
    });
    verbose = values.verbose === true;
    if (values.help) {
      io.stdout(ENV_HELP);
      return 0;
    }
    const format = (values.format ?? 'shell') as EnvFormat;
    if (!FORMATS.includes(format)) {
      throw new UsageError(`Unknown --format "${values.format}": expected shell, dotenv or json`);
    }
    const { vars, expireTime } = await connectionVars(values, io.env);
    io.stdout(formatVars(vars, format));
    io.stderr(
      `lakebase-kit env: PGPASSWORD and DATABASE_URL hold a secret token for ${vars.PGUSER} ` +
        `(valid until ${expireTime}); do not commit or log them.\n`,
    );
    return 0;
  } catch (error) {
    return fail('env', error, io, verbose);
  }
}

export const env: Command = {
  name: 'env',
  summary: 'print PG* variables and DATABASE_URL with a fresh token (shell, dotenv or json)',
  help: ENV_HELP,
  run,
};
