/**
 * `lakebase-kit branch create|list|get|env|reset|protect|delete|undelete`: Lakebase branches
 * (copy-on-write databases: one per developer, one per pull request) through the branches and
 * endpoints API, as the current Databricks identity. `create` also creates the branch's
 * read-write compute and waits until both are ready; `env` prints the connection variables of a
 * branch's compute, for `exec`, `dev` and the examples. Long operations report progress on
 * stderr; `--json` makes stdout one JSON document.
 */
import { parseArgs } from 'node:util';
import { LakebaseError, ValidationError } from '@lakebase-kit/core';
import {
  BranchExistsError,
  BranchesApiError,
  BranchProtectedError,
  type BranchSpec,
  branchIdProblem,
  createWorkspaceClient,
  type LakebaseBranch,
  LakebaseBranchesApi,
  type LakebaseEndpoint,
  NotFoundError,
  toBranchId,
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
import { fail, isUsageError, oneLine } from './token.js';

export const BRANCH_HELP = `Usage: lakebase-kit branch <command> [options]

  branch create <id> [--from <branch>] [--at <time|lsn>] (--ttl <duration> | --expire-time <time> | --no-expiry)
                [--protected] [--endpoint-id <id>] [--print-env [--format f]]
      Creates branch <id> from --from (default: the project's default branch), as it is now or
      as it was --at an RFC 3339 time or an LSN (within the restore window), with an expiry:
      --ttl 24h (s, m, h, d), --expire-time, or --no-expiry for a permanent branch. Then creates
      its read-write compute (--endpoint-id, default primary) unless it has one, and waits until
      both are ready. --print-env then prints the branch's variables, as \`branch env\` does.
  branch list [--json]                    the project's branches: state, flags, parent, expiry
  branch get <id> [--json]                one branch, with its computes (host:port)
  branch env <id> [--format shell|dotenv|json]
      LAKEBASE_ENDPOINT, PGHOST, PGPORT ... PGPASSWORD (a fresh token) and DATABASE_URL for the
      branch's read-write compute, as the current identity.
  branch reset <id>                       to its parent's current state (its changes are lost)
  branch protect <id> [--off]             a protected branch cannot be deleted or reset (one
                                          protected branch per project)
  branch delete <id>                      soft delete (\`undelete\` brings it back while it is kept)
  branch undelete <id>

Branch ids: 1-63 characters, lowercase letters, digits and hyphens, starting with a letter
(pr-123, dev-alice); a bad one is refused before any call, with one to use instead. The
project is the one of --endpoint / $LAKEBASE_ENDPOINT, or --project. Creating, resetting,
protecting and deleting need CAN MANAGE on the project; reading needs CAN USE. An app runs on a
branch with no code change: LAKEBASE_ENDPOINT, PGHOST and PGPORT of its compute, as
\`branch env\` prints them, or \`lakebase-kit exec --branch <id> -- <cmd>\`.

Progress goes to stderr. With --json, stdout is one JSON document: the result, or on failure
{"error": {"code": "LAKEBASE_BRANCH_PROTECTED", "message": ...}} (exit code 2 either way; codes:
LAKEBASE_VALIDATION, LAKEBASE_BRANCH_EXISTS, LAKEBASE_BRANCH_PROTECTED, LAKEBASE_NOT_FOUND,
LAKEBASE_PERMISSION_DENIED, LAKEBASE_BRANCHES_API).

Options:
  --project <p>       projects/<p> (default: the project of the endpoint)
  --json              print JSON on stdout (progress stays on stderr)
${TARGET_HELP}

Examples:
  lakebase-kit branch create pr-42 --from production --ttl 72h
  lakebase-kit branch create before-migration --at 2026-12-07T09:00:00Z --no-expiry
  lakebase-kit branch env pr-42 --format dotenv > .env.pr-42   # keep it out of git
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

/** An RFC 3339 time as the API takes it: `T` between date and time, `Z` upper case. */
const rfc3339 = (text: string): string =>
  text.replace(/^(\d{4}-\d{2}-\d{2})[Tt ]/, '$1T').replace(/z$/, 'Z');

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
      // As given (microseconds kept: Postgres' clock has them), in the API's RFC 3339 form.
      spec.source_branch_time = rfc3339(values.at);
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
    spec.expire_time = rfc3339(values['expire-time']);
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
  let last: string | undefined;
  return new LakebaseBranchesApi(createWorkspaceClient(acting.env), projectOf(flags, io.env), {
    // Each poll of an operation reports; a state is printed once, when it changes.
    onProgress: (message) => {
      if (message !== last) io.stderr(`lakebase-kit branch: ${message}\n`);
      last = message;
    },
  });
}

/**
 * `id`, checked before any call: a bad one is a `ValidationError` that names the rule and, when
 * one can be made of it, a valid id to use instead (`Dev_Alice` → `dev-alice`).
 */
export function checkedBranchId(id: string, what = 'branch id'): string {
  const bare = id.startsWith('projects/') ? (id.split('/branches/')[1]?.split('/')[0] ?? id) : id;
  const problem = branchIdProblem(bare);
  if (!problem) return id;
  let suggestion = '';
  try {
    suggestion = `; try "${toBranchId(bare)}"`;
  } catch {
    // nothing valid can be made of it
  }
  throw new ValidationError(
    `Invalid ${what} "${bare}": ${problem}. A branch id is 1-63 characters, lowercase letters, ` +
      `digits and hyphens, starting with a letter (pr-123, dev-alice)${suggestion}`,
    { option: 'branchId' },
  );
}

/** The branch's read-write compute: its endpoint path, and host and port to connect to. */
export interface BranchTarget {
  endpoint: string;
  host: string;
  port: string | undefined;
}

/**
 * Settings that name another endpoint's computes: the read-only endpoint's and the pooled
 * host's. Copied to a branch's command they would send its reads to main's replica (and the
 * read-your-writes check would compare two databases' WAL positions), or its work to main's
 * pooler where the host check is off.
 */
const ENDPOINT_BOUND_ENV = [
  'LAKEBASE_READ_ENDPOINT',
  'LAKEBASE_READ_HOST',
  'LAKEBASE_READ_PORT',
  'LAKEBASE_POOLER_HOST',
  'LAKEBASE_POOLER_PORT',
] as const;

/**
 * `env` for a branch's compute: without the settings of another endpoint's computes, each one
 * dropped named in one line on stderr (`command`: who says it).
 */
export function branchEnv(
  env: NodeJS.ProcessEnv,
  command: string,
  io: Pick<CommandIO, 'stderr'>,
): NodeJS.ProcessEnv {
  const dropped = ENDPOINT_BOUND_ENV.filter((key) => env[key] !== undefined && env[key] !== '');
  if (dropped.length === 0) return env;
  const kept = { ...env };
  for (const key of ENDPOINT_BOUND_ENV) delete kept[key];
  io.stderr(
    `lakebase-kit ${command}: --branch: not passed on, they name another endpoint's computes: ${dropped.join(', ')}\n`,
  );
  return kept;
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

/**
 * The read-write compute of branch `id` (its id checked first), or a `NotFoundError` naming
 * the fix: a deleted branch has none until it is undeleted.
 */
export async function branchTarget(api: LakebaseBranchesApi, id: string): Promise<BranchTarget> {
  checkedBranchId(id);
  const endpoints = await api.listEndpoints(id);
  const found = endpoints.filter(isReadWrite).map(targetOf).find(Boolean);
  if (found) return found;
  const name = api.branchName(id);
  const state = (await api.get(id).catch(() => undefined))?.status?.current_state;
  throw new NotFoundError(
    state === 'DELETED'
      ? `Branch ${name} is deleted, so it has no compute: lakebase-kit branch undelete ${idOf(name)} brings it back`
      : `Branch ${name} has no read-write compute with a host yet (${state ?? 'state unknown'}): ` +
          'create one (lakebase-kit branch create makes it; or databricks postgres create-endpoint)',
  );
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

/** The id of `projects/<p>/branches/<id>` (or the text itself). */
const idOf = (name: string): string => name.split('/').at(-1) ?? name;

/** When a branch expires: its `expire_time`, `never` (no_expiry), or `-` when unknown. */
function expiryOf(branch: LakebaseBranch): string {
  const status = branch.status ?? {};
  if (status.expire_time) return status.expire_time;
  if (status.no_expiry || branch.spec?.no_expiry) return 'never';
  return branch.spec?.expire_time ?? branch.spec?.ttl ?? '-';
}

/**
 * One row of `list` and `get`. PARENT is the branch it was made from (`source_branch`): the
 * Branch's own `parent` is its project.
 */
function summary(branch: LakebaseBranch): string[] {
  const status = branch.status ?? {};
  const source = status.source_branch ?? branch.spec?.source_branch;
  return [
    idOf(branch.name),
    status.current_state ?? '-',
    status.default
      ? 'default'
      : status.is_protected || branch.spec?.is_protected
        ? 'protected'
        : '',
    source ? idOf(source) : '-',
    expiryOf(branch),
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
  values: TargetFlags & { format?: string; json?: boolean },
  io: CommandIO,
): Promise<void> {
  if (values.json && values.format !== undefined && values.format !== 'json') {
    throw new UsageError(
      `--json prints JSON: it cannot be combined with --format ${values.format} (drop one)`,
    );
  }
  const format = (values.format ?? (values.json ? 'json' : 'shell')) as EnvFormat;
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

/** A point in time or LSN the API refused (outside the restore window, or malformed). */
const POINT_REFUSED = /window|retention|history|source_branch_(time|lsn)/i;

/**
 * `create`'s failures, made to name their fix: an id taken by a protected branch (it cannot be
 * deleted to make room), and an `--at` the source branch's history does not cover.
 */
/**
 * The branch `id` when an earlier `branch create` of it stopped before its compute: it exists,
 * is neither deleted nor protected, has no read-write compute, and comes from the parent asked
 * for (any, when `--from` was not given). Undefined otherwise: the id is then taken.
 */
async function unfinishedBranch(
  api: LakebaseBranchesApi,
  id: string,
  spec: BranchSpec,
): Promise<LakebaseBranch | undefined> {
  const existing = await api.get(id).catch(() => undefined);
  const status = existing?.status;
  if (!existing || !status || status.current_state === 'DELETED') return undefined;
  if (status.is_protected || existing.spec?.is_protected) return undefined;
  if (spec.source_branch !== undefined && status.source_branch !== spec.source_branch) {
    return undefined;
  }
  const computes = await api.listEndpoints(id).catch(() => undefined);
  return computes !== undefined && computes.filter(isReadWrite).length === 0 ? existing : undefined;
}

async function createFailure(
  error: unknown,
  api: LakebaseBranchesApi,
  id: string,
  at: string | undefined,
): Promise<unknown> {
  if (error instanceof BranchExistsError) {
    const existing = await api.get(id).catch(() => undefined);
    if (existing?.status?.current_state === 'DELETED') {
      return new BranchExistsError(
        `${existing.name} exists already, deleted (it expired, or was deleted, and is kept a ` +
          `while): bring it back with lakebase-kit branch undelete ${idOf(existing.name)}, or ` +
          'pick another id',
        existing.name,
      );
    }
    if (existing?.status?.is_protected || existing?.spec?.is_protected) {
      return new BranchProtectedError(
        `${existing.name} exists already and is protected (it cannot be deleted or reset): ` +
          'pick another branch id',
        existing.name,
      );
    }
    return error;
  }
  if (
    at !== undefined &&
    error instanceof BranchesApiError &&
    error.errorCode === 'INVALID_PARAMETER_VALUE' &&
    POINT_REFUSED.test(error.message)
  ) {
    return new ValidationError(
      `--at ${at} was refused: ${error.message.replace(/^The Lakebase branches API failed to create branch: /, '')}. ` +
        "Pick a time (or LSN) within the source branch's restore window, or leave out --at to " +
        'branch from now',
      { option: 'at', cause: error },
    );
  }
  return error;
}

/**
 * `protect`'s refusal: a project has one protected branch. Core reports that refusal as this
 * branch being protected (it maps every FAILED_PRECONDITION that mentions protection so), or,
 * were it to tell them apart, as the API's own error; either way the other branch is named.
 */
async function protectFailure(
  error: unknown,
  api: LakebaseBranchesApi,
  name: string,
): Promise<unknown> {
  const oneAllowed =
    error instanceof BranchProtectedError ||
    (error instanceof BranchesApiError && /already protected|one protected/i.test(error.message));
  if (!oneAllowed) return error;
  const others = (await api.list().catch(() => []))
    .filter((b) => b.name !== name && (b.status?.is_protected || b.spec?.is_protected))
    .map((b) => b.name);
  if (others.length === 0) return error;
  const other = others[0] as string;
  return new BranchProtectedError(
    `${name} cannot be protected: ${other} is, and a project has one protected branch. ` +
      `Unprotect it first (lakebase-kit branch protect ${idOf(other)} --off)`,
    other,
  );
}

/** With `--json`, a failure is also one JSON document on stdout: `{ "error": { code, … } }`. */
function jsonFailure(error: unknown): string {
  const code = isUsageError(error)
    ? 'USAGE'
    : error instanceof LakebaseError
      ? error.code
      : 'ERROR';
  const details: Record<string, unknown> = { code, message: oneLine(error) };
  if (error instanceof BranchProtectedError || error instanceof BranchExistsError) {
    details.branch = error.branch;
  }
  if (error instanceof BranchesApiError && error.errorCode) details.error_code = error.errorCode;
  return `${JSON.stringify({ error: details }, null, 2)}\n`;
}

const ACTIONS = ['create', 'list', 'get', 'env', 'reset', 'protect', 'delete', 'undelete'];

async function run(argv: string[], io: CommandIO): Promise<number> {
  let verbose = argv.includes('--verbose') || argv.includes('-v');
  let json = argv.includes('--json');
  try {
    const { values, positionals } = parseArgs({
      args: argv,
      options: OPTIONS,
      allowPositionals: true,
      strict: true,
    });
    verbose = values.verbose === true;
    json = values.json === true;
    const [action, id, ...extra] = positionals;
    if (values.help) {
      io.stdout(BRANCH_HELP);
      return 0;
    }
    if (action === undefined) {
      throw new UsageError(
        `branch needs a command: ${ACTIONS.slice(0, -1).join(', ')} or undelete`,
      );
    }
    if (!ACTIONS.includes(action)) {
      throw new UsageError(
        `Unknown branch command "${action}": expected ${ACTIONS.slice(0, -1).join(', ')} or undelete`,
      );
    }
    if (extra.length > 0) throw new UsageError(`Unexpected arguments: ${extra.join(' ')}`);
    const needsId = action !== 'list';
    if (needsId && id === undefined) throw new UsageError(`branch ${action} needs a branch id`);
    if (!needsId && id !== undefined) throw new UsageError(`Unexpected argument: ${id}`);
    // A bad id (or --from) fails here, before any call, naming a valid one.
    const branchId = needsId ? checkedBranchId(id as string) : '';
    if (values.from !== undefined) checkedBranchId(values.from, '--from branch id');
    const api = branchesApi(values, io);
    const name = needsId ? api.branchName(branchId) : '';
    const print = (value: unknown) => io.stdout(`${JSON.stringify(value, null, 2)}\n`);
    switch (action) {
      case 'create': {
        const spec = createSpec(values, api);
        let branch: LakebaseBranch;
        try {
          branch = await api.create(branchId, spec);
        } catch (error) {
          const unfinished =
            error instanceof BranchExistsError && values.at === undefined
              ? await unfinishedBranch(api, branchId, spec)
              : undefined;
          if (!unfinished) throw await createFailure(error, api, branchId, values.at);
          // an earlier create stopped before the compute (a timeout, a permission): finish it
          io.stderr(
            `lakebase-kit branch: ${unfinished.name} exists without a compute (an earlier ` +
              'create stopped before it): creating its compute; its expiry stays as it was\n',
          );
          branch = unfinished;
        }
        branch = await waitUntil(
          `branch ${name}`,
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
        else if (json) print({ branch, endpoint: ready });
        else io.stdout(`${name} is READY; its compute is ${ready.name}\n`);
        return 0;
      }
      case 'list': {
        const branches = await api.list();
        if (json) print(branches);
        else
          io.stdout(
            table([['BRANCH', 'STATE', 'FLAGS', 'PARENT', 'EXPIRES'], ...branches.map(summary)]),
          );
        return 0;
      }
      case 'get': {
        const branch = await api.get(branchId);
        const endpoints = await api.listEndpoints(branchId);
        if (json) print({ branch, endpoints });
        else {
          io.stdout(table([['BRANCH', 'STATE', 'FLAGS', 'PARENT', 'EXPIRES'], summary(branch)]));
          for (const endpoint of endpoints) {
            const target = targetOf(endpoint);
            const where = target ? `${target.host}${target.port ? `:${target.port}` : ''}` : '';
            io.stdout(
              `${[
                `  ${endpoint.name}`,
                endpoint.status?.endpoint_type ?? '',
                endpoint.status?.current_state ?? '',
                where,
              ]
                .join(' ')
                .trimEnd()}\n`,
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
        if (json) print(branch);
        else io.stdout(`${name} was reset to its parent's current state\n`);
        return 0;
      }
      case 'protect': {
        let branch: LakebaseBranch;
        try {
          branch = await api.protect(branchId, values.off !== true);
        } catch (error) {
          throw await protectFailure(error, api, name);
        }
        if (json) print(branch);
        else io.stdout(`${name} is ${values.off ? 'no longer ' : ''}protected\n`);
        return 0;
      }
      case 'delete':
        await api.delete(branchId);
        if (json) print({ deleted: name });
        else
          io.stdout(
            `${name} was deleted (lakebase-kit branch undelete ${branchId} brings it back)\n`,
          );
        return 0;
      default: {
        const branch = await api.undelete(branchId);
        if (json) print(branch);
        else io.stdout(`${name} is back\n`);
        return 0;
      }
    }
  } catch (error) {
    // with --json, stdout is one JSON document whatever failed, a usage error included
    if (json) io.stdout(jsonFailure(error));
    return fail('branch', error, io, verbose);
  }
}

export const branch: Command = {
  name: 'branch',
  summary: "Lakebase branches: create, list, get, reset, protect, delete; a branch's env",
  help: BRANCH_HELP,
  run,
};
