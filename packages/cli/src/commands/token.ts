/**
 * `lakebase-kit token`: a fresh Postgres token for the current Databricks identity (SDK default
 * auth: env vars, ~/.databrickscfg profile, ...), on stdout and nothing else. Also home of what
 * `env` and `exec` share: the connection flags, minting, and one-line error reporting.
 */
import { parseArgs } from 'node:util';
import {
  ConfigurationError,
  type DatabaseCredential,
  generateDatabaseCredential,
  LakebaseError,
  redactSecrets,
  validateEndpoint,
} from '@lakebase-kit/core';
import { createWorkspaceClient } from '@lakebase-kit/core/admin';
import { type Command, type CommandIO, UsageError } from './command.js';
import { actingIdentity, assertSameUser, type IdentityFlags } from './identity.js';

/** Exit code of every failure of ours: bad usage, no endpoint, no auth, API error. */
export const EXIT_FAILURE = 2;

/** Flags of every command that mints a token. */
export const CONNECTION_FLAGS = {
  endpoint: { type: 'string' },
  profile: { type: 'string' },
  user: { type: 'string' },
  verbose: { type: 'boolean', short: 'v' },
  help: { type: 'boolean', short: 'h' },
} as const;

export const CONNECTION_HELP = `  --endpoint <path>   projects/<p>/branches/<b>/endpoints/<e> (default: $LAKEBASE_ENDPOINT)
  --profile <name>    ~/.databrickscfg profile, alone (default: $DATABRICKS_CONFIG_PROFILE / SDK default auth)
  --user <role>       act as this Postgres role (a user's email, or a service principal's client id):
                      with lakebase-kit dev's env file loaded, its user's token; otherwise it must be
                      the identity you authenticate as (default: $PGUSER, $DATABRICKS_CLIENT_ID,
                      else that identity's userName)
  -v, --verbose       stack traces on errors
  -h, --help          this help`;

export const TOKEN_HELP = `Usage: lakebase-kit token [options]

Prints a fresh Lakebase Postgres token (the password of the current Databricks identity,
valid for about an hour) on stdout, and nothing else. Authenticates with the Databricks SDK
default auth (DATABRICKS_HOST + DATABRICKS_CLIENT_ID/SECRET, DATABRICKS_TOKEN, a profile...).

Options:
${CONNECTION_HELP}
  --json              print {"token": ..., "expire_time": ...} instead

Examples:
  PGPASSWORD="$(lakebase-kit token)" psql "host=$PGHOST dbname=databricks_postgres user=$PGUSER sslmode=require"
  lakebase-kit token --user alice@example.com          # with lakebase-kit dev's .env.local loaded
`;

export interface ConnectionFlags extends IdentityFlags {
  endpoint?: string;
  verbose?: boolean;
}

/** The endpoint from `--endpoint` or LAKEBASE_ENDPOINT, validated. */
export function resolveEndpoint(flags: ConnectionFlags, env: NodeJS.ProcessEnv): string {
  const endpoint = flags.endpoint?.trim() || env.LAKEBASE_ENDPOINT?.trim();
  if (!endpoint) {
    throw new ConfigurationError(
      'Lakebase endpoint is missing: pass --endpoint or set LAKEBASE_ENDPOINT ' +
        '(projects/<project>/branches/<branch>/endpoints/<endpoint>)',
      { option: 'endpoint', envVar: 'LAKEBASE_ENDPOINT' },
    );
  }
  return validateEndpoint(endpoint);
}

/** A fresh credential for the identity that `--profile` / `--user` / the environment select. */
export async function mintToken(
  flags: ConnectionFlags,
  env: NodeJS.ProcessEnv,
): Promise<DatabaseCredential> {
  const endpoint = resolveEndpoint(flags, env);
  const acting = actingIdentity(flags, env);
  const client = createWorkspaceClient(acting.env);
  const credential = await generateDatabaseCredential(client, { endpoint });
  if (acting.verifyUser) assertSameUser(acting, (await client.currentUser.me()).userName ?? '');
  return credential;
}

/**
 * A thrown value as one line. Core's errors never carry a token; anything else (a raw SDK or
 * system error) is passed through `redactSecrets` first.
 */
export function oneLine(error: unknown): string {
  const message = error instanceof Error ? error.message : String(error);
  const flat = message.replace(/\s*\n\s*/g, ' ').trim();
  return error instanceof LakebaseError ? flat : redactSecrets(flat, 500);
}

/** The `at ...` frames of an error's stack (no message: messages may hold secrets). */
function frames(error: Error): string {
  const stack = error.stack ?? '';
  const at = stack.indexOf('\n    at ');
  return at >= 0 ? stack.slice(at + 1) : '';
}

/** True for bad arguments, which the dispatcher prints with the command's help (exit 2). */
export function isUsageError(error: unknown): boolean {
  return (
    error instanceof UsageError ||
    (error as { code?: string } | null)?.code?.startsWith('ERR_PARSE_ARGS') === true
  );
}

/**
 * Reports a failure on stderr in one line (plus stack traces with --verbose) and returns exit
 * code 2. Usage errors are rethrown for the dispatcher.
 */
export function fail(command: string, error: unknown, io: CommandIO, verbose?: boolean): number {
  if (isUsageError(error)) throw error;
  const hint = verbose || !(error instanceof Error) ? '' : ' (--verbose for details)';
  io.stderr(`lakebase-kit ${command}: ${oneLine(error)}${hint}\n`);
  if (verbose) {
    let current: unknown = error;
    for (let depth = 0; current instanceof Error && depth < 5; depth++) {
      const code = current instanceof LakebaseError ? ` [${current.code}]` : '';
      const head = depth === 0 ? current.name : `Caused by ${current.name}: ${oneLine(current)}`;
      io.stderr(`${head}${code}\n${frames(current)}\n`);
      current = (current as { cause?: unknown }).cause;
    }
  }
  return EXIT_FAILURE;
}

async function run(argv: string[], io: CommandIO): Promise<number> {
  let verbose = argv.includes('--verbose') || argv.includes('-v');
  try {
    const { values } = parseArgs({
      args: argv,
      options: { ...CONNECTION_FLAGS, json: { type: 'boolean' } },
      strict: true,
    });
    verbose = values.verbose === true;
    if (values.help) {
      io.stdout(TOKEN_HELP);
      return 0;
    }
    const credential = await mintToken(values, io.env);
    io.stdout(
      values.json
        ? `${JSON.stringify({ token: credential.token, expire_time: credential.expire_time })}\n`
        : `${credential.token}\n`,
    );
    return 0;
  } catch (error) {
    return fail('token', error, io, verbose);
  }
}

export const token: Command = {
  name: 'token',
  summary: 'print a fresh Lakebase Postgres token for the current Databricks identity',
  help: TOKEN_HELP,
  run,
};
