/**
 * `lakebase-kit branch create|list|get|env|reset|protect|delete|undelete`: Lakebase branches
 * (copy-on-write databases: one per developer, one per pull request) through the branches and
 * endpoints API, as the current Databricks identity. `create` also creates the branch's
 * read-write compute and waits until both are ready; `env` prints the connection variables of a
 * branch's compute, for `exec`, `dev` and the examples. Long operations report progress on
 * stderr; `--json` makes stdout one JSON document.
 */
import { parseArgs } from 'node:util';
import {
  type BranchSpec,
  createWorkspaceClient,
  type LakebaseBranch,
  LakebaseBranchesApi,
  type LakebaseEndpoint,
} from '@lakebase-kit/core/admin';
import { type Command, type CommandIO, UsageError } from './command.js';
import {
  connectionVars,
  type EnvFormat,
  formatVars,
  TARGET_FLAGS,
  TARGET_HELP,
  type TargetFlags,
} from './env.js';
import { actingIdentity } from './identity.js';
import { fail } from './token.js';

export const BRANCH_HELP = `Usage: lakebase-kit branch <command> [options]

  branch create <id> [--from <branch>] [--at <time|lsn>] (--ttl <duration> | --expire-time <time> | --no-expiry)
                [--protected] [--endpoint-id <id>] [--print-env [--format f]]
      Creates branch <id> from --from (default: the project's default branch), as it is now or
      as it was --at an RFC 3339 time or an LSN (within the restore window), with an expiry:
      --ttl 24h (s, m, h, d), --expire-time, or --no-expiry for a permanent branch. Then creates
      its read-write compute (--endpoint-id, default primary) and waits until both are ready.
      --print-env prints the branch's connection variables, as \`branch env\` does.
  branch list [--json]                    every branch of the project, with state and expiry
  branch get <id> [--json]                one branch, with its computes
  branch env <id> [--format shell|dotenv|json]
      PGHOST ... PGPASSWORD and DATABASE_URL for the branch's read-write compute (a fresh token).
  branch reset <id>                       to its parent's current state (its changes are lost)
  branch protect <id> [--off]             protected branches cannot be deleted or reset
  branch delete <id>                      soft delete (\`undelete\` brings it back while it is kept)
  branch undelete <id>

Branch ids: 1-63 characters, lowercase letters, digits and hyphens, starting with a letter
(pr-123, dev-alice). The project is the one of --endpoint / $LAKEBASE_ENDPOINT, or --project.
Creating, resetting, protecting and deleting need CAN MANAGE on the project; reading needs
CAN USE. An app runs on a branch with no code change: LAKEBASE_ENDPOINT, PGHOST (and PGPORT)
of its compute, as \`branch env\` prints them, or \`lakebase-kit exec --branch <id> -- <cmd>\`.

Options:
  --project <p>       projects/<p> (default: the project of the endpoint)
  --json              print JSON on stdout (progress stays on stderr)
${TARGET_HELP}

Examples:
  lakebase-kit branch create pr-42 --ttl 72h --print-env --format dotenv > .env.pr-42
  lakebase-kit branch create before-migration --at 2026-12-07T09:00:00Z --no-expiry
  lakebase-kit exec --branch pr-42 -- npx drizzle-kit migrate
  lakebase-kit branch delete pr-42
`;

const OPTIONS = {
  ...TARGET_FLAGS,
  project: { type: 'string' },
  from: { type: 'string' },
  at: { type: 'string' },
  ttl: { type: 'string' },
  'expire-time': { type: 'string' },
  'no-expiry': { type: 'boolean' },
  protected: { type: 'boolean' },
  off: { type: 'boolean' },
  'endpoint-id': { type: 'string' },
  'print-env': { type: 'boolean' },
  format: { type: 'string' },
  json: { type: 'boolean' },
} as const;

const RFC3339 = /^\d{4}-\d{2}-\d{2}[Tt ]\d{2}:\d{2}:\d{2}(?:\.\d+)?(?:[Zz]|[+-]\d{2}:\d{2})$/;
const LSN = /^[0-9A-Fa-f]{1,8}\/[0-9A-Fa-f]{1,8}$/;
const UNITS: Record<string, number> = { s: 1, m: 60, h: 3600, d: 86_400 };

/** `24h`, `90m`, `7d`, `3600s` (or bare seconds) → the API's duration (`86400s`). */
export function parseTtl(text: string): string {
  const match = /^(\d+)([smhd]?)$/.exec(text.trim());
  const seconds = match ? Number(match[1]) * (UNITS[match[2] || 's'] as number) : Number.NaN;
  if (!Number.isSafeInteger(seconds) || seconds < 1) {
    throw new UsageError(`--ttl must be a duration like 24h, 90m, 7d or 3600s, got "${text}"`);
  }
  return `${seconds}s`;
}

/** The spec of `branch create` from its flags; the expiry and the point in time checked. */
export function createSpec(
  values: {
    from?: string;
    at?: string;
    ttl?: string;
    'expire-time'?: string;
    'no-expiry'?: boolean;
    protected?: boolean;
  },
  api: Pick<LakebaseBranchesApi, 'branchName'>,
): BranchSpec {
  const policies = [values.ttl, values['expire-time'], values['no-expiry'] ? true : undefined];
  if (policies.filter((p) => p !== undefined).length !== 1) {
    throw new UsageError(
      'A branch needs exactly one expiry: --ttl <duration> (e.g. 24h), --expire-time <RFC 3339> or --no-expiry',
    );
  }
  const spec: BranchSpec = {};
  if (values.from !== undefined) spec.source_branch = api.branchName(values.from);
  if (values.at !== undefined) {
    if (LSN.test(values.at)) spec.source_branch_lsn = values.at.toUpperCase();
    else if (RFC3339.test(values.at) && !Number.isNaN(Date.parse(values.at))) {
      spec.source_branch_time = new Date(values.at).toISOString();
    } else {
      throw new UsageError(
        `--at must be an RFC 3339 time (2026-12-07T09:00:00Z) or an LSN (0/16B3748), got "${values.at}"`,
      );
    }
  }
  if (values.ttl !== undefined) spec.ttl = parseTtl(values.ttl);
  if (values['expire-time'] !== undefined) {
    if (!RFC3339.test(values['expire-time'])) {
      throw new UsageError(
        `--expire-time must be an RFC 3339 time, got "${values['expire-time']}"`,
      );
    }
    spec.expire_time = new Date(values['expire-time']).toISOString();
  }
  if (values['no-expiry']) spec.no_expiry = true;
  if (values.protected) spec.is_protected = true;
  return spec;
}

/** `projects/<p>` from --project, else the endpoint's. */
function projectOf(flags: TargetFlags & { project?: string }, env: NodeJS.ProcessEnv): string {
  const given = flags.project?.trim();
  if (given) return given.startsWith('projects/') ? given : `projects/${given}`;
  const endpoint = flags.endpoint?.trim() || env.LAKEBASE_ENDPOINT?.trim();
  if (!endpoint) {
    throw new UsageError(
      'Which project? Pass --project <p>, or --endpoint / set LAKEBASE_ENDPOINT (its project is used)',
    );
  }
  return endpoint;
}

export function branchesApi(
  flags: TargetFlags & { project?: string },
  io: Pick<CommandIO, 'env' | 'stderr'>,
): LakebaseBranchesApi {
  const acting = actingIdentity(flags, io.env);
  return new LakebaseBranchesApi(createWorkspaceClient(acting.env), projectOf(flags, io.env), {
    onProgress: (message) => io.stderr(`lakebase-kit branch: ${message}\n`),
  });
}

/** The branch's read-write compute: its endpoint path, and host and port to connect to. */
export interface BranchTarget {
  endpoint: string;
  host: string;
  port: string | undefined;
}

/**
 * Where a branch's read-write compute is reached. The endpoints API answers host names; the local
 * Lakebase, whose hosts share one machine, adds a `ports` map beside them.
 */
export function targetOf(endpoint: LakebaseEndpoint): BranchTarget | undefined {
  const host = endpoint.status?.hosts?.host;
  if (!host) return undefined;
  const ports = (endpoint.status as { ports?: Record<string, number> } | undefined)?.ports;
  const port = ports?.[host];
  return { endpoint: endpoint.name, host, port: port === undefined ? undefined : String(port) };
}

function isReadWrite(endpoint: LakebaseEndpoint): boolean {
  const type = endpoint.status?.endpoint_type ?? endpoint.spec?.endpoint_type;
  return type === undefined || type === 'ENDPOINT_TYPE_READ_WRITE';
}

/** The read-write compute of branch `id`, or a usage error naming the fix. */
export async function branchTarget(api: LakebaseBranchesApi, id: string): Promise<BranchTarget> {
  const endpoints = await api.listEndpoints(id);
  const found = endpoints.filter(isReadWrite).map(targetOf).find(Boolean);
  if (!found) {
    throw new UsageError(
      `Branch ${api.branchName(id)} has no read-write compute with a host yet: create one ` +
        `(lakebase-kit branch create makes it; or databricks postgres create-endpoint)`,
    );
  }
  return found;
}

/** Polls `read` every `pauseMs` until `done` (or `timeoutMs`), reporting state changes. */
async function waitUntil<T>(
  what: string,
  read: () => Promise<T>,
  state: (value: T) => string | undefined,
  done: (state: string | undefined) => boolean,
  io: Pick<CommandIO, 'stderr'>,
  timeoutMs = 600_000,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: string | undefined;
  let pause = 200;
  for (;;) {
    const value = await read();
    const now = state(value);
    if (now !== last) io.stderr(`lakebase-kit branch: ${what}: ${now ?? 'unknown'}\n`);
    last = now;
    if (done(now)) return value;
    if (Date.now() > deadline) {
      throw new Error(`${what} is still ${now ?? 'not ready'} after ${timeoutMs / 1000} s`);
    }
    await new Promise((resolve) => setTimeout(resolve, pause));
    pause = Math.min(pause * 2, 5000);
  }
}

function summary(branch: LakebaseBranch): string[] {
  const status = branch.status ?? {};
  const expiry = status.no_expiry
    ? 'never'
    : (status.expire_time ?? branch.spec?.expire_time ?? branch.spec?.ttl ?? '-');
  return [
    branch.name.split('/').at(-1) ?? branch.name,
    status.current_state ?? '-',
    status.default
      ? 'default'
      : status.is_protected || branch.spec?.is_protected
        ? 'protected'
        : '',
    (branch.parent ?? status.source_branch ?? branch.spec?.source_branch ?? '-')
      .split('/')
      .at(-1) as string,
    expiry,
  ];
}

function table(rows: string[][]): string {
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((row) => (row[i] ?? '').length)));
  return `${rows
    .map((row) =>
      row
        .map((cell, i) => cell.padEnd(widths[i]!))
        .join('  ')
        .trimEnd(),
    )
    .join('\n')}\n`;
}

async function printEnv(
  api: LakebaseBranchesApi,
  id: string,
  values: TargetFlags & { format?: string },
  io: CommandIO,
): Promise<void> {
  const format = (values.format ?? 'shell') as EnvFormat;
  if (!['shell', 'dotenv', 'json'].includes(format)) {
    throw new UsageError(`Unknown --format "${values.format}": expected shell, dotenv or json`);
  }
  const target = await branchTarget(api, id);
  const { vars, expireTime } = await connectionVars(
    { ...values, endpoint: target.endpoint, host: target.host, port: target.port ?? values.port },
    io.env,
  );
  const withEndpoint = { ...vars, LAKEBASE_ENDPOINT: target.endpoint };
  io.stdout(formatVars(withEndpoint as typeof vars, format));
  io.stderr(
    `lakebase-kit branch env: PGPASSWORD and DATABASE_URL hold a secret token for ${vars.PGUSER} ` +
      `(valid until ${expireTime}); do not commit or log them.\n`,
  );
}

async function run(argv: string[], io: CommandIO): Promise<number> {
  let verbose = argv.includes('--verbose') || argv.includes('-v');
  try {
    const { values, positionals } = parseArgs({
      args: argv,
      options: OPTIONS,
      allowPositionals: true,
      strict: true,
    });
    verbose = values.verbose === true;
    const [action, id, ...extra] = positionals;
    if (values.help || action === undefined) {
      io.stdout(BRANCH_HELP);
      return action === undefined && !values.help ? 2 : 0;
    }
    if (extra.length > 0) throw new UsageError(`Unexpected arguments: ${extra.join(' ')}`);
    const needsId = action !== 'list';
    if (needsId && id === undefined) throw new UsageError(`branch ${action} needs a branch id`);
    const api = branchesApi(values, io);
    const branchId = id as string;
    const json = (value: unknown) => io.stdout(`${JSON.stringify(value, null, 2)}\n`);
    switch (action) {
      case 'create': {
        const spec = createSpec(values, api);
        api.branchName(branchId); // a bad id fails before any call
        let branch = await api.create(branchId, spec);
        branch = await waitUntil(
          `branch ${branch.name}`,
          () => api.get(branchId),
          (b) => b.status?.current_state,
          (state) => state === 'READY',
          io,
        );
        const endpointId = values['endpoint-id'] ?? 'primary';
        const existing = (await api.listEndpoints(branchId)).filter(isReadWrite);
        const endpoint =
          existing[0] ??
          (await api.createEndpoint(branchId, endpointId, 'ENDPOINT_TYPE_READ_WRITE'));
        const ready = await waitUntil(
          `endpoint ${endpoint.name}`,
          () => api.getEndpoint(endpoint.name),
          (e) => e.status?.current_state,
          (state) => state === 'ACTIVE' || state === 'IDLE',
          io,
        );
        if (values['print-env']) await printEnv(api, branchId, values, io);
        else if (values.json) json({ branch, endpoint: ready });
        else io.stdout(`${branch.name} is READY; its compute is ${ready.name}\n`);
        return 0;
      }
      case 'list': {
        const branches = await api.list();
        if (values.json) json(branches);
        else
          io.stdout(
            table([['BRANCH', 'STATE', 'FLAGS', 'PARENT', 'EXPIRES'], ...branches.map(summary)]),
          );
        return 0;
      }
      case 'get': {
        const branch = await api.get(branchId);
        const endpoints = await api.listEndpoints(branchId);
        if (values.json) json({ branch, endpoints });
        else {
          io.stdout(table([['BRANCH', 'STATE', 'FLAGS', 'PARENT', 'EXPIRES'], summary(branch)]));
          for (const endpoint of endpoints) {
            const target = targetOf(endpoint);
            io.stdout(
              `  ${endpoint.name} ${endpoint.status?.endpoint_type ?? ''} ${endpoint.status?.current_state ?? ''} ${target ? `${target.host}${target.port ? `:${target.port}` : ''}` : ''}\n`,
            );
          }
        }
        return 0;
      }
      case 'env':
        await printEnv(api, branchId, values, io);
        return 0;
      case 'reset': {
        const branch = await api.reset(branchId);
        if (values.json) json(branch);
        else io.stdout(`${api.branchName(branchId)} was reset to its parent\n`);
        return 0;
      }
      case 'protect': {
        const branch = await api.protect(branchId, values.off !== true);
        if (values.json) json(branch);
        else
          io.stdout(`${api.branchName(branchId)} is ${values.off ? 'no longer ' : ''}protected\n`);
        return 0;
      }
      case 'delete':
        await api.delete(branchId);
        if (values.json) json({ deleted: api.branchName(branchId) });
        else
          io.stdout(
            `${api.branchName(branchId)} was deleted (lakebase-kit branch undelete brings it back)\n`,
          );
        return 0;
      case 'undelete': {
        const branch = await api.undelete(branchId);
        if (values.json) json(branch);
        else io.stdout(`${api.branchName(branchId)} is back\n`);
        return 0;
      }
      default:
        throw new UsageError(
          `Unknown branch command "${action}": expected create, list, get, env, reset, protect, delete or undelete`,
        );
    }
  } catch (error) {
    return fail('branch', error, io, verbose);
  }
}

export const branch: Command = {
  name: 'branch',
  summary: "create, list, reset, protect and delete Lakebase branches; print a branch's env",
  help: BRANCH_HELP,
  run,
};
