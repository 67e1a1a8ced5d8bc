/**
 * `lakebase-kit doctor [--json]`: the checks of `runDoctor()` of `@lakebase-kit/core` for the
 * current identity (run it with the app's environment: its service principal). Exit code 1
 * when any check is an error, 0 otherwise (warnings included), 2 on bad usage.
 */
import { parseArgs } from 'node:util';
import { type DoctorCheck, type DoctorReport, runDoctor } from '@lakebase-kit/core/admin';
import { branchEnv, branchesApi, branchTarget } from './branch.js';
import { type Command, type CommandIO, UsageError } from './command.js';
import { TARGET_FLAGS, TARGET_HELP } from './env.js';
import { openSession } from './lakebase-session.js';
import { fail } from './token.js';

export const DOCTOR_HELP = `Usage: lakebase-kit doctor [options]

Checks what stands between the app and a working, safe Lakebase, as the current Databricks
identity (run it with the app's environment, so as its service principal):
  config          options and environment (endpoint and its branch, host, database, user)
  hosts           PGHOST is a host of the endpoint (the endpoints API; a stale one: an error)
  credentials     a Lakebase token can be minted
  login           the identity logs in
  tls             the connection is encrypted (off on a loopback host: a warning)
  ownership       objects the app uses that it does not own (the deploy-first trap)
  rls-policies    tables with policies but row-level security off
  rls-public      tables readable by PUBLIC without row-level security (a warning)
  obo-bypass-rls  roles of on-behalf-of requests that bypass RLS (databricks_superuser, BYPASSRLS)
  user-roles      identities (--identity) that have no Postgres role
  set-role        whether the app may SET ROLE to each identity (--mode set-role: an error
                  when not; auto: a warning; login, the default: reported only)
Each check prints its finding and, when it is not ok, the fix. Exit code 1 if any check is
an error.

Options:
  --identity <id>     an identity that uses the app on its own behalf (repeatable)
  --schema <schema>   a schema the app uses (repeatable; default: every non-system schema)
  --app-role <role>   the role that must own the app's objects (default: the login role;
                      pass the app's service principal when you run doctor as yourself)
  --mode <mode>       userPools.mode of the app: login (default), set-role or auto
  --json              print the report as JSON
  --branch <id>       check that branch's read-write compute (see lakebase-kit branch); the
                      config line names the branch checked
  --project <p>       the branch's project (default: the project of the endpoint)
${TARGET_HELP}
`;

const OPTIONS = {
  ...TARGET_FLAGS,
  identity: { type: 'string', multiple: true },
  schema: { type: 'string', multiple: true },
  'app-role': { type: 'string' },
  mode: { type: 'string' },
  json: { type: 'boolean' },
  branch: { type: 'string' },
  project: { type: 'string' },
} as const;

const MODES = ['login', 'set-role', 'auto'] as const;
type Mode = (typeof MODES)[number];

const MARK: Record<DoctorCheck['status'], string> = { ok: 'ok   ', warn: 'WARN ', error: 'ERROR' };

export function formatReport(report: DoctorReport): string {
  const width = Math.max(...report.checks.map((check) => check.id.length));
  const lines = report.checks.flatMap((check) => [
    `${MARK[check.status]}  ${check.id.padEnd(width)}  ${check.finding}`,
    ...(check.status === 'ok' ? [] : [`       ${' '.repeat(width)}  fix: ${check.fix}`]),
  ]);
  const plural = (n: number, word: string) => `${n} ${word}${n === 1 ? '' : 's'}`;
  lines.push(
    '',
    `${plural(report.errors, 'error')}, ${plural(report.warnings, 'warning')} (${report.checks.length} checks)`,
  );
  return `${lines.join('\n')}\n`;
}

async function run(argv: string[], io: CommandIO): Promise<number> {
  let verbose = argv.includes('--verbose') || argv.includes('-v');
  try {
    const { values } = parseArgs({ args: argv, options: OPTIONS, strict: true });
    verbose = values.verbose === true;
    if (values.help) {
      io.stdout(DOCTOR_HELP);
      return 0;
    }
    const mode = (values.mode ?? 'login') as Mode;
    if (!MODES.includes(mode)) {
      throw new UsageError(`Unknown --mode "${values.mode}": expected login, set-role or auto`);
    }
    // --branch: that branch's read-write compute (its endpoint, host and port)
    const target =
      values.branch === undefined
        ? undefined
        : await branchTarget(branchesApi(values, io), values.branch);
    const flags = target
      ? {
          ...values,
          endpoint: target.endpoint,
          host: target.host,
          port: target.port ?? values.port,
        }
      : values;
    const session = openSession(flags, target ? branchEnv(io.env, 'doctor', io) : io.env, true);
    try {
      const report = await runDoctor({
        db: session.db,
        config: session.options,
        env: session.env,
        workspaceClient: session.workspaceClient,
        identities: values.identity,
        schemas: values.schema,
        appRole: values['app-role'],
        mode,
      });
      io.stdout(values.json ? `${JSON.stringify(report, null, 2)}\n` : formatReport(report));
      return report.ok ? 0 : 1;
    } finally {
      await session.close();
    }
  } catch (error) {
    return fail('doctor', error, io, verbose);
  }
}

export const doctor: Command = {
  name: 'doctor',
  summary: 'check config, credentials, login, TLS, ownership, RLS and roles (exit 1 on errors)',
  help: DOCTOR_HELP,
  run,
};
