/**
 * `lakebase-kit exec -- <cmd...>`: runs a command with PGHOST ... PGPASSWORD and DATABASE_URL
 * set for the current identity (a fresh token), forwarding SIGINT/SIGTERM/SIGHUP to it and
 * exiting with its exit code (128 + signal number when it died of a signal).
 */
import { spawn } from 'node:child_process';
import { constants } from 'node:os';
import { parseArgs } from 'node:util';
import { branchEnv, branchesApi, branchTarget } from './branch.js';
import { type Command, type CommandIO, UsageError } from './command.js';
import { connectionVars, TARGET_FLAGS, TARGET_HELP } from './env.js';
import { fail } from './token.js';

export const EXEC_HELP = `Usage: lakebase-kit exec [options] -- <command> [args...]

Runs <command> with PGHOST PGPORT PGDATABASE PGUSER PGPASSWORD PGSSLMODE (PGSSLROOTCERT and
NODE_EXTRA_CA_CERTS when a root certificate is set) and DATABASE_URL set for the current
Databricks identity (a fresh token, valid for about an hour: enough to connect;
established connections stay open after it expires). Forwards SIGINT, SIGTERM and SIGHUP to the
command and exits with its exit code (128 + n if it was killed by signal n; 127 if it cannot be
started; 2 if no token could be obtained).

Options:
  --branch <id>       run against that branch's read-write compute (LAKEBASE_ENDPOINT, PGHOST
                      and PGPORT of it; see lakebase-kit branch)
  --project <p>       the branch's project (default: the project of the endpoint)
${TARGET_HELP}

Examples:
  lakebase-kit exec -- psql -c 'select current_user'
  lakebase-kit exec --branch pr-42 -- npx drizzle-kit migrate
  lakebase-kit exec -- npx prisma migrate deploy
  lakebase-kit exec -- npx drizzle-kit migrate
  lakebase-kit exec --user alice@example.com -- psql   # with lakebase-kit dev's .env.local loaded
`;

/** `exec`'s flags: the target's, and a branch to run against. */
const EXEC_FLAGS = {
  ...TARGET_FLAGS,
  branch: { type: 'string' },
  project: { type: 'string' },
} as const;

const FORWARDED_SIGNALS = ['SIGINT', 'SIGTERM', 'SIGHUP'] as const;

/** Splits `[options] -- cmd args` (the `--` may be omitted when the command is not an option). */
export function splitCommand(argv: string[]): { options: string[]; command: string[] } {
  const dashes = argv.indexOf('--');
  if (dashes >= 0) return { options: argv.slice(0, dashes), command: argv.slice(dashes + 1) };
  const options: string[] = [];
  const valued = new Set(
    Object.entries(EXEC_FLAGS)
      .filter(([, spec]) => spec.type === 'string')
      .map(([name]) => `--${name}`),
  );
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    if (!arg.startsWith('-')) return { options, command: argv.slice(i) };
    options.push(arg);
    if (valued.has(arg) && i + 1 < argv.length) options.push(argv[++i]!);
  }
  return { options, command: [] };
}

/** Runs the command to its end; resolves with the exit code to use. */
export function runWithEnv(
  command: string[],
  env: NodeJS.ProcessEnv,
  io: Pick<CommandIO, 'stderr' | 'cwd'>,
): Promise<number> {
  return new Promise((resolve) => {
    const child = spawn(command[0]!, command.slice(1), { stdio: 'inherit', env, cwd: io.cwd });
    const forward = (signal: NodeJS.Signals) => {
      if (child.exitCode === null && child.signalCode === null) child.kill(signal);
    };
    for (const signal of FORWARDED_SIGNALS) process.on(signal, forward);
    const done = (code: number) => {
      for (const signal of FORWARDED_SIGNALS) process.off(signal, forward);
      resolve(code);
    };
    child.once('error', (error: NodeJS.ErrnoException) => {
      const reason = error.code === 'ENOENT' ? 'command not found' : error.message;
      io.stderr(`lakebase-kit exec: cannot run "${command[0]}": ${reason}\n`);
      done(error.code === 'ENOENT' ? 127 : 126);
    });
    child.once('exit', (code, signal) => {
      if (code !== null) done(code);
      else done(128 + (signal ? (constants.signals[signal] ?? 0) : 0));
    });
  });
}

async function run(argv: string[], io: CommandIO): Promise<number> {
  const { options, command } = splitCommand(argv);
  let verbose = options.includes('--verbose') || options.includes('-v');
  try {
    const { values } = parseArgs({
      args: options,
      options: EXEC_FLAGS,
      strict: true,
    });
    verbose = values.verbose === true;
    if (values.help) {
      io.stdout(EXEC_HELP);
      return 0;
    }
    if (command.length === 0) {
      throw new UsageError('No command given: lakebase-kit exec [options] -- <command> [args...]');
    }
    // --branch: that branch's read-write compute (its endpoint, host and port)
    const target =
      values.branch === undefined
        ? undefined
        : await branchTarget(branchesApi(values, io), values.branch);
    const base = target ? branchEnv(io.env, 'exec', io) : io.env;
    const { vars } = await connectionVars(
      target
        ? {
            ...values,
            endpoint: target.endpoint,
            host: target.host,
            port: target.port ?? values.port,
          }
        : values,
      base,
    );
    const env: NodeJS.ProcessEnv = {
      ...base,
      ...vars,
      ...(target ? { LAKEBASE_ENDPOINT: target.endpoint } : {}),
    };
    // node-postgres reads PGSSLMODE but not PGSSLROOTCERT: Node commands trust that CA this way.
    if (vars.PGSSLROOTCERT && !io.env.NODE_EXTRA_CA_CERTS) {
      env.NODE_EXTRA_CA_CERTS = vars.PGSSLROOTCERT;
    }
    return await runWithEnv(command, env, io);
  } catch (error) {
    return fail('exec', error, io, verbose);
  }
}

export const exec: Command = {
  name: 'exec',
  summary: 'run a command (psql, prisma, drizzle-kit...) with PG* variables and a fresh token',
  help: EXEC_HELP,
  run,
};
