/**
 * `runDoctor()`: what stands between an app and a working, safe Lakebase, as a list of checks
 * `{ id, status: 'ok' | 'warn' | 'error', finding, fix }`:
 *
 * - `config`: options + environment resolve (endpoint and its branch, host, database, ...);
 * - `hosts`: PGHOST belongs to the endpoint (the endpoints API): a stale one is an error;
 * - `credentials`: a Lakebase token can be minted for the app's identity;
 * - `login`: the app's identity logs in;
 * - `tls`: the connection is encrypted (off on a loopback host is a warning);
 * - `ownership`: objects the app uses that its identity does not own (the deploy-first trap);
 * - `rls-policies`: tables with policies but row-level security off;
 * - `rls-public`: tables readable by PUBLIC without row-level security (warning);
 * - `obo-bypass-rls`: roles of on-behalf-of requests that bypass RLS (`databricks_superuser`,
 *   BYPASSRLS, superuser);
 * - `user-roles`: identities seen by `asUser` that have no Postgres role;
 * - `set-role`: whether the app's identity may `SET ROLE` to each of them (`userPools.mode`
 *   'set-role' needs it for all: an error there; 'auto' logs the others in: a warning).
 *
 * `error` is what breaks the app or its security; `warn` the rest. It never throws, and no
 * finding ever holds a token.
 */
import { branchOf } from '../base/endpoint-path.js';
import { type ResolvedConfig, resolveConfig } from '../config/resolve-config.js';
import {
  credentialCheck,
  credentialFailure,
  hostsCheck,
  loginCheck,
  tlsCheck,
} from './doctor-connection.js';
import {
  type DoctorCheck,
  type DoctorOptions,
  type DoctorReport,
  message,
  OK_FIX,
} from './doctor-report.js';
import { bypassCheck, setRoleCheck, userRolesCheck } from './doctor-roles.js';
import { appSchemas, ownershipCheck, policiesCheck, publicReadCheck } from './doctor-schema.js';

export type { DoctorCheck, DoctorOptions, DoctorReport, DoctorStatus } from './doctor-report.js';

export async function runDoctor(options: DoctorOptions): Promise<DoctorReport> {
  const checks: DoctorCheck[] = [];
  const env = options.env ?? process.env;

  let config: ResolvedConfig | undefined;
  try {
    config = resolveConfig({ telemetry: false, ...options.config }, env);
    checks.push({
      id: 'config',
      status: 'ok',
      finding:
        `endpoint ${config.endpoint ?? '(native password)'}` +
        `${config.endpoint ? ` (branch ${branchOf(config.endpoint)})` : ''}, ${config.host}:${config.port}, ` +
        `database ${config.database}, user ${config.user ?? '(from the workspace identity)'}`,
      fix: OK_FIX,
    });
  } catch (error) {
    const names = error as { option?: string; envVar?: string };
    checks.push({
      id: 'config',
      status: 'error',
      finding: message(error),
      fix: `Set ${names.envVar ? `env ${names.envVar}` : 'the option'}${names.option ? ` (option "${names.option}")` : ''}; a Databricks App gets PGHOST, PGDATABASE, PGUSER and PGSSLMODE from its postgres resource, and LAKEBASE_ENDPOINT from \`valueFrom: postgres\` in app.yaml.`,
    });
  }

  if (config?.endpoint && options.mint !== false) {
    checks.push(await hostsCheck(config, options.workspaceClient));
  }

  let credentials: DoctorCheck | undefined;
  if (config?.endpoint && options.mint !== false) {
    credentials = await credentialCheck(config, options.workspaceClient);
    checks.push(credentials);
  }

  const login = await loginCheck(options.db);
  checks.push(login.check);
  if (login.credentialError && !credentials) {
    checks.push(credentialFailure(login.credentialError));
  }
  if (config) checks.push(tlsCheck(config));

  if (login.role) {
    const appRole = options.appRole ?? login.role;
    const guarded = async (id: string, run: () => Promise<DoctorCheck>) => {
      try {
        checks.push(await run());
      } catch (error) {
        checks.push({
          id,
          status: 'error',
          finding: `could not run the check: ${message(error)}`,
          fix: 'Check that the app can read the system catalogs (pg_catalog).',
        });
      }
    };
    const schemas = await appSchemas(options.db, options.schemas).catch(() => [] as string[]);
    const branch = config?.endpoint ? branchOf(config.endpoint) : undefined;
    await guarded('ownership', () => ownershipCheck(options.db, schemas, appRole));
    await guarded('rls-policies', () => policiesCheck(options.db, schemas));
    await guarded('rls-public', () => publicReadCheck(options.db, schemas));
    await guarded('obo-bypass-rls', () =>
      bypassCheck(options.db, schemas, appRole, options.identities ?? []),
    );
    await guarded('user-roles', () => userRolesCheck(options.db, options.identities, branch));
    await guarded('set-role', () =>
      setRoleCheck(options.db, options.identities ?? [], options.mode ?? 'login', login.role!),
    );
  }

  const errors = checks.filter((check) => check.status === 'error').length;
  const warnings = checks.filter((check) => check.status === 'warn').length;
  return { ok: errors === 0, errors, warnings, checks };
}
