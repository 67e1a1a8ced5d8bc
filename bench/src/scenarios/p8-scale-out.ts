/**
 * P8 connection scale-out: `processes` app processes (children) × `usersPerProcess` distinct
 * users each (Postgres roles, made in one statement, the service principal granted SET on each
 * for set-role mode), on a local Lakebase of its own with the pooled host (PgBouncer, transaction
 * mode, `default_pool_size` = `poolSize`). Per cell (`userPools.mode` × direct or pooled host ×
 * login budget) every process runs `lanes` loops of `asUser(headers).query('select current_user')`
 * for `seconds`, each answer checked against the user.
 *
 * The compute's connection limit: the local Lakebase runs Postgres with `max_connections`
 * `maxConnections` (104, what a 0.5 CU compute allows; 3 of them reserved for superusers), and
 * PgBouncer with `max_db_connections` `maxDbConnections` (90): at that limit it closes an idle
 * server connection of another user's pool, and its clients wait rather than fail.
 *
 * Server connections are what Postgres holds: client backends of non-superuser roles in
 * `pg_stat_activity` (the app's roles, directly or through PgBouncer; the emulator's own
 * superuser connections left out), sampled every `sampleEveryMs` through `lb.sql` while the
 * processes run. Beside it: PgBouncer's own count of its server connections (`SHOW POOLS`,
 * sampled), and in the JSON the doors' peak of client connections (`lb.stats()`), which is no
 * server count.
 * Between cells the server connections PgBouncer keeps idle (`server_idle_timeout` 600 s) are
 * terminated, so every cell starts from none.
 */
import type { LocalLakebase } from '@lakebase-kit/local';
import type { ScaleOutCell, ScaleOutCellResult } from '../protocol.js';
import { type Spawned, spawnTask } from '../runner.js';
import { type BenchContext, childEnv, fmt, type Row } from './context.js';

export interface P8Options {
  processes: number;
  usersPerProcess: number;
  /** Requests in flight at once per process. */
  lanes: number;
  seconds: number;
  requestTimeoutMs: number;
  /** Postgres' `max_connections` (a 0.5 CU compute: 104). */
  maxConnections: number;
  /** PgBouncer's `default_pool_size` (server connections per user and database). */
  poolSize: number;
  /** PgBouncer's `max_db_connections` (server connections of the database, all users). */
  maxDbConnections: number;
  sampleEveryMs: number;
  cells: ScaleOutCell[];
}

export interface P8Cell extends ScaleOutCell {
  /** Answered, identity-checked requests per second, all processes together. */
  rps: number;
  requests: number;
  failed: number;
  mismatches: number;
  timedOut: number;
  usersServed: number;
  /** Peak of the sampled server connections (non-superuser client backends). */
  peakServerConnections: number;
  samples: number;
  /**
   * The doors' own peak (`lb.stats().peakConnections`): client connections at the main
   * endpoint's doors, not server connections. Kept for reference.
   */
  directDoorPeak: number;
  /** Pooled cells: PgBouncer's server connections (active + idle + used + login), sampled peak. */
  pgbouncerPeakServers?: number;
  /** Pooled cells: PgBouncer's client connections (active + waiting), sampled peak. */
  pgbouncerPeakClients?: number;
  errorSamples: string[];
  warmupErrors: string[];
  wallMs: number;
}

export interface P8Result {
  options: P8Options;
  postgresMaxConnections: number;
  cells: P8Cell[];
}

const email = (process: number, user: number) =>
  `p8-${process}-${String(user).padStart(4, '0')}@bench.example`;
const warmupEmail = (process: number) => `p8-${process}-warmup@bench.example`;

/** The app's connections as Postgres holds them: client backends of non-superuser roles. */
const SERVER_CONNECTIONS = `select count(*)::int as n from pg_stat_activity a
  join pg_roles r on r.oid = a.usesysid
  where a.backend_type = 'client backend' and not r.rolsuper`;

/**
 * Every user's role in one statement (`p8_users` gives them CONNECT), and SET on each for the
 * service principal (what `lb.grantSetRole` runs, per role).
 */
async function createRoles(lb: LocalLakebase, o: P8Options): Promise<void> {
  const sp = lb.servicePrincipal.clientId.replaceAll("'", "''");
  await lb.sql(
    `do $$ declare r text; begin
       if not exists (select 1 from pg_roles where rolname = 'p8_users') then
         create role p8_users nologin;
       end if;
       execute format('grant connect on database %I to p8_users', current_database());
       for p in 1..${o.processes} loop
         for i in 0..${o.usersPerProcess} loop
           r := case when i = 0 then 'p8-' || p || '-warmup@bench.example'
                else 'p8-' || p || '-' || lpad(i::text, 4, '0') || '@bench.example' end;
           if not exists (select 1 from pg_roles where rolname = r) then
             execute format('create role %I login nosuperuser nobypassrls in role p8_users', r);
           end if;
           execute format('grant %I to %I with inherit false, set true', r, '${sp}');
         end loop;
       end loop;
     end $$`,
  );
}

const headersOf = (lb: LocalLakebase, address: string) => ({
  'x-forwarded-access-token': lb.userToken(address),
  'x-forwarded-email': address,
});

/** Ends the app roles' server connections left open (PgBouncer keeps idle ones 600 s). */
async function clearServerConnections(lb: LocalLakebase): Promise<void> {
  const deadline = Date.now() + 10_000;
  for (;;) {
    const [row] = await lb.sql<{ n: number }>(SERVER_CONNECTIONS);
    if (!row?.n || Date.now() > deadline) return;
    await lb.sql(
      `select pg_terminate_backend(a.pid) from pg_stat_activity a
         join pg_roles r on r.oid = a.usesysid
         where a.backend_type = 'client backend' and not r.rolsuper`,
    );
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

interface Peaks {
  server: number;
  samples: number;
  pgbouncerServers?: number;
  pgbouncerClients?: number;
}

/** Samples the server connections (and PgBouncer's pools) until `stop()`. */
function sampleConnections(lb: LocalLakebase, pooled: boolean, everyMs: number) {
  const peaks: Peaks = { server: 0, samples: 0 };
  if (pooled) {
    peaks.pgbouncerServers = 0;
    peaks.pgbouncerClients = 0;
  }
  let stopped = false;
  let poolsWork = pooled;
  const sampleOnce = async () => {
    const [row] = await lb.sql<{ n: number }>(SERVER_CONNECTIONS);
    peaks.server = Math.max(peaks.server, row?.n ?? 0);
    peaks.samples++;
    if (poolsWork && lb.pooler) {
      // SHOW POOLS through PgBouncer's admin console; give up on it if it does not answer
      let timer: NodeJS.Timeout | undefined;
      const pools = await Promise.race([
        lb.pooler.pools(),
        new Promise<undefined>((resolve) => {
          timer = setTimeout(() => resolve(undefined), 2000);
        }),
      ]).finally(() => clearTimeout(timer));
      if (!pools) {
        poolsWork = false;
        return;
      }
      let servers = 0;
      let clients = 0;
      for (const p of pools) {
        servers += p.serversActive + p.serversIdle + p.serversUsed + p.serversLogin;
        clients += p.clientsActive + p.clientsWaiting;
      }
      peaks.pgbouncerServers = Math.max(peaks.pgbouncerServers ?? 0, servers);
      peaks.pgbouncerClients = Math.max(peaks.pgbouncerClients ?? 0, clients);
    }
  };
  const loop = (async () => {
    while (!stopped) {
      await sampleOnce().catch(() => undefined);
      await new Promise((resolve) => setTimeout(resolve, everyMs));
    }
  })();
  return {
    async stop(): Promise<Peaks> {
      stopped = true;
      await loop;
      if (pooled && !poolsWork) {
        peaks.pgbouncerServers = undefined;
        peaks.pgbouncerClients = undefined;
      }
      return peaks;
    },
  };
}

const describeCell = (c: ScaleOutCell) =>
  `'${c.mode}', ${c.pooled ? 'pooled' : 'direct'}${c.mode === 'login' ? `, budget ${c.budget}` : ''}`;

async function runCell(
  ctx: BenchContext,
  lb: LocalLakebase,
  o: P8Options,
  children: Spawned[],
  cell: ScaleOutCell,
): Promise<P8Cell> {
  await clearServerConnections(lb);
  for (const child of children) child.command({ type: 'cell', cell });
  const warm = (await Promise.all(children.map((c) => c.nextReply()))) as {
    warmupError?: string;
  }[];
  const warmupErrors = [...new Set(warm.flatMap((w) => (w.warmupError ? [w.warmupError] : [])))];
  lb.resetStats();
  const sampler = sampleConnections(lb, cell.pooled, o.sampleEveryMs);
  for (const child of children) child.command({ type: 'go' });
  const results = (await Promise.all(children.map((c) => c.nextReply()))) as ScaleOutCellResult[];
  const peaks = await sampler.stop();
  const directDoorPeak = lb.stats().peakConnections;
  const sum = (pick: (r: ScaleOutCellResult) => number) =>
    results.reduce((total, r) => total + pick(r), 0);
  const requests = sum((r) => r.requests);
  const failed = sum((r) => r.failed);
  const wallMs = Math.max(...results.map((r) => r.wallMs));
  const result: P8Cell = {
    ...cell,
    rps: Math.round(((requests - failed) / wallMs) * 1000),
    requests,
    failed,
    mismatches: sum((r) => r.mismatches),
    timedOut: sum((r) => r.timedOut),
    usersServed: sum((r) => r.usersServed),
    peakServerConnections: peaks.server,
    samples: peaks.samples,
    directDoorPeak,
    pgbouncerPeakServers: peaks.pgbouncerServers,
    pgbouncerPeakClients: peaks.pgbouncerClients,
    errorSamples: [...new Set(results.flatMap((r) => r.errorSamples))].slice(0, 5),
    warmupErrors,
    wallMs: Math.round(wallMs),
  };
  ctx.log(
    `P8 ${describeCell(cell)}: ${fmt.int(result.rps)} req/s, peak ${result.peakServerConnections} server connections` +
      `${result.pgbouncerPeakServers === undefined ? '' : ` (PgBouncer: ${result.pgbouncerPeakServers})`}` +
      `, direct door ${directDoorPeak}, ${result.failed} of ${result.requests} failed` +
      `${result.errorSamples[0] ? ` (${result.errorSamples[0]})` : ''}`,
  );
  return result;
}

export async function runP8(ctx: BenchContext, options: P8Options): Promise<P8Result> {
  const o = options;
  const lb = await ctx.startLakebase({
    maxConnections: o.maxConnections,
    pooler: { poolSize: o.poolSize, maxDbConnections: o.maxDbConnections },
  });
  const children: Spawned[] = [];
  try {
    const t = performance.now();
    await createRoles(lb, o);
    ctx.log(
      `P8 ${fmt.int(o.processes * o.usersPerProcess)} roles in ${fmt.ms(performance.now() - t)}`,
    );
    const [setting] = await lb.sql<{ max_connections: string }>('show max_connections');
    const env = childEnv(lb);
    for (let p = 1; p <= o.processes; p++) {
      const users = Array.from({ length: o.usersPerProcess }, (_, i) =>
        headersOf(lb, email(p, i + 1)),
      );
      children.push(
        spawnTask(
          {
            kind: 'scaleout',
            users,
            warmup: headersOf(lb, warmupEmail(p)),
            lanes: o.lanes,
            seconds: o.seconds,
            requestTimeoutMs: o.requestTimeoutMs,
          },
          env,
        ),
      );
    }
    const cells: P8Cell[] = [];
    for (const cell of o.cells) cells.push(await runCell(ctx, lb, o, children, cell));
    for (const child of children) child.command({ type: 'stop' });
    await Promise.all(children.map((c) => c.result));
    return {
      options: o,
      postgresMaxConnections: Number(setting?.max_connections),
      cells,
    };
  } finally {
    for (const child of children) {
      if (child.child.exitCode === null) child.child.kill('SIGKILL');
    }
    await lb.stop();
  }
}

/** The done-when target of the pooled cells: server connections within the limit, nothing failed. */
export function p8TargetMet(r: P8Result, c: P8Cell): boolean {
  return c.peakServerConnections <= r.options.maxConnections && c.failed === 0;
}

export function p8Rows(r: P8Result): Row[] {
  const o = r.options;
  return r.cells.map((c) => {
    const pgbouncer =
      c.pgbouncerPeakServers === undefined
        ? c.pooled
          ? '; PgBouncer SHOW POOLS did not answer'
          : ''
        : `; PgBouncer: peak ${c.pgbouncerPeakServers} server / ${c.pgbouncerPeakClients} client connections`;
    const target = c.pooled
      ? `; target ≤ ${o.maxConnections} server connections and 0 failed: ${p8TargetMet(r, c) ? 'met' : 'NOT met'}`
      : '';
    const errors = c.errorSamples[0] ? `; first error: ${c.errorSamples[0]}` : '';
    const warmup = c.warmupErrors[0] ? `; warm-up error: ${c.warmupErrors[0]}` : '';
    return {
      metric: `P8 ${o.processes} processes × ${fmt.int(o.usersPerProcess)} users, ${describeCell(c)}`,
      raw: '—',
      official: '—',
      ours: `${fmt.int(c.rps)} req/s, peak ${c.peakServerConnections} server connections, ${fmt.int(c.failed)} of ${fmt.int(c.requests)} failed`,
      note:
        `${o.lanes} requests in flight per process for ${o.seconds} s; ${fmt.int(c.usersServed)} users served; ` +
        `server connections = non-superuser client backends in pg_stat_activity, ${c.samples} samples${pgbouncer}; ` +
        `${c.timedOut} timed out, ${c.mismatches} identity mismatches${target}${errors}${warmup}; ` +
        `Postgres max_connections ${r.postgresMaxConnections}, PgBouncer default_pool_size ${o.poolSize} and max_db_connections ${o.maxDbConnections}`,
    };
  });
}
