/**
 * P9 read-heavy mix: one app process, 90 % reads / 10 % writes — each loop writes a row, reads
 * it back through the read side and checks it saw the row, then reads `plainReads` seeded rows —
 * half the lanes as the service principal (`lakebase.query` / `lakebase.read.query`), half each
 * as a user (`asUser(req).query` / `asUser(req).read.query`, login mode). On a local Lakebase of
 * its own with one read replica (a streaming hot standby), in three variants: no read-only
 * endpoint (`lakebase.read` is the primary), the replica with read-your-writes (the default),
 * and the replica with `consistency: 'eventual'`, a control that shows the stale-read check does
 * catch stale reads where nothing promises otherwise.
 *
 * Where the reads ran is counted on the servers: every read is a lookup by primary key, so the
 * growth of `pg_stat_user_indexes.idx_scan` of `p9_rows_pkey` on the primary and on the replica
 * (read once the child has closed every connection: a backend flushes its counters when it
 * exits) is the number of reads each served; the kit's own `stats().read` counters stand beside.
 */
import type { LocalLakebase } from '@lakebase-kit/local';
import type { ReadMixResult, ReadMixTask } from '../protocol.js';
import { runTask } from '../runner.js';
import { round } from '../stats.js';
import { type BenchContext, childEnv, fmt, type Row } from './context.js';

export type P9Variant = 'primary' | 'replica' | 'replica-eventual';
const VARIANTS: P9Variant[] = ['primary', 'replica', 'replica-eventual'];

export interface P9Options {
  seconds: number;
  /** Lanes as the service principal. */
  spLanes: number;
  /** Lanes as users, one user each. */
  users: number;
  /** Plain reads per loop, after the write and its read-back (8: 90 % reads). */
  plainReads: number;
  seededRows: number;
  /** `read.maxWaitMs` (the kit's default, 200). */
  maxWaitMs: number;
}

export interface P9VariantResult extends ReadMixResult {
  variant: P9Variant;
  /** Requests (writes + reads) per second. */
  rps: number;
  /** Reads served by each server (growth of idx_scan on p9_rows_pkey). */
  primaryReads: number;
  replicaReads: number;
  /** primaryReads / (primaryReads + replicaReads). */
  primaryShare: number;
}

export interface P9Result {
  options: P9Options;
  variants: P9VariantResult[];
  /** The target with the replica on (read-your-writes): the primary's share of reads at most. */
  targetPrimaryShare: number;
}

const TARGET_PRIMARY_SHARE = 0.15;

const userEmail = (i: number) => `p9-${i}@bench.example`;

const IDX_SCANS = `select coalesce(sum(idx_scan), 0)::bigint::text as n
  from pg_stat_user_indexes where indexrelname = 'p9_rows_pkey'`;
const APP_CONNECTIONS = `select count(*)::int as n from pg_stat_activity a
  join pg_roles r on r.oid = a.usesysid
  where a.backend_type = 'client backend' and not r.rolsuper`;

type Sql = LocalLakebase['sql'];

async function idxScans(sql: Sql): Promise<number> {
  const [row] = await sql<{ n: string }>(IDX_SCANS);
  return Number(row?.n ?? 0);
}

/** Waits until the app's backends have exited (and so flushed their counters) on `sql`'s server. */
async function settled(sql: Sql): Promise<void> {
  const deadline = Date.now() + 10_000;
  for (;;) {
    const [row] = await sql<{ n: number }>(APP_CONNECTIONS);
    if (!row?.n) return;
    if (Date.now() > deadline)
      throw new Error(`P9: ${row.n} app connections still open after 10 s`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

async function setUp(lb: LocalLakebase, o: P9Options): Promise<void> {
  await lb.sql(
    `create table public.p9_rows (id bigserial primary key, body text not null);
     insert into public.p9_rows (body) select 'seeded ' || i from generate_series(1, ${o.seededRows}) i;
     grant select, insert on public.p9_rows to public;
     grant usage on sequence public.p9_rows_id_seq to public;
     analyze public.p9_rows`,
  );
  await lb.replicas[0]?.waitForReplay(await lb.currentLsn());
}

async function runVariant(
  ctx: BenchContext,
  lb: LocalLakebase,
  o: P9Options,
  variant: P9Variant,
): Promise<P9VariantResult> {
  const replica = lb.replicas[0];
  if (!replica) throw new Error('P9 needs a read replica');
  const primarySql: Sql = lb.sql;
  const replicaSql: Sql = replica.sql;
  await replica.waitForReplay(await lb.currentLsn());
  const before = { primary: await idxScans(primarySql), replica: await idxScans(replicaSql) };
  const task: ReadMixTask = {
    kind: 'readmix',
    read:
      variant === 'primary'
        ? undefined
        : {
            endpoint: replica.endpoint,
            host: `${replica.host}:${replica.port}`,
            consistency: variant === 'replica' ? 'read-your-writes' : 'eventual',
            maxWaitMs: o.maxWaitMs,
          },
    users: await Promise.all(
      Array.from({ length: o.users }, (_, i) => lb.userHeaders(userEmail(i + 1))),
    ),
    spLanes: o.spLanes,
    plainReads: o.plainReads,
    seededRows: o.seededRows,
    seconds: o.seconds,
  };
  const r = await runTask<ReadMixResult>(task, childEnv(lb));
  await settled(primarySql);
  await settled(replicaSql);
  const primaryReads = (await idxScans(primarySql)) - before.primary;
  const replicaReads = (await idxScans(replicaSql)) - before.replica;
  const result: P9VariantResult = {
    ...r,
    variant,
    rps: Math.round((r.writes + r.reads) / r.seconds),
    primaryReads,
    replicaReads,
    primaryShare: round(primaryReads / Math.max(1, primaryReads + replicaReads), 4),
  };
  ctx.log(
    `P9 ${variant}: ${fmt.int(result.rps)} req/s, primary served ${fmt.pct(result.primaryShare)} of reads ` +
      `(${primaryReads} / ${replicaReads} on the replica; ${r.reads} sent), ${r.stale} stale of ${r.readBacks} read-backs, ${r.errors} errors`,
  );
  return result;
}

export async function runP9(ctx: BenchContext, options: P9Options): Promise<P9Result> {
  const users = Array.from({ length: options.users }, (_, i) => userEmail(i + 1));
  const lb = await ctx.startLakebase({ replicas: 1, users });
  try {
    await setUp(lb, options);
    const variants: P9VariantResult[] = [];
    for (const variant of VARIANTS) variants.push(await runVariant(ctx, lb, options, variant));
    return { options, variants, targetPrimaryShare: TARGET_PRIMARY_SHARE };
  } finally {
    await lb.stop();
  }
}

const LABEL: Record<P9Variant, string> = {
  primary: 'no read-only endpoint (reads on the primary)',
  replica: 'read replica, read-your-writes',
  'replica-eventual': "read replica, consistency 'eventual' (control)",
};

export function p9TargetMet(r: P9Result, v: P9VariantResult): boolean {
  return v.primaryShare <= r.targetPrimaryShare && v.stale === 0 && v.errors === 0;
}

export function p9Rows(r: P9Result): Row[] {
  const o = r.options;
  const base = r.variants.find((v) => v.variant === 'primary');
  return r.variants.map((v) => {
    const kit = v.kit
      ? `; kit stats().read: ${v.kit.checks} checks, ${v.kit.waited} waited, ${v.kit.primaryFallbacks} primary fallbacks, ${v.kit.writes} writes noted`
      : '';
    const target =
      v.variant === 'replica'
        ? `; target ≤ ${fmt.pct(r.targetPrimaryShare)} of reads on the primary, 0 stale: ${p9TargetMet(r, v) ? 'met' : 'NOT met'}`
        : '';
    const errors = v.errorSamples[0] ? `; first error: ${v.errorSamples[0]}` : '';
    return {
      metric: `P9 90 % reads / 10 % writes, ${LABEL[v.variant]}`,
      raw: '—',
      official: '—',
      ours:
        `${fmt.int(v.rps)} req/s, primary served ${fmt.pct(v.primaryShare)} of reads, ` +
        `${fmt.int(v.stale)} stale of ${fmt.int(v.readBacks)} read-backs`,
      oursVsRaw: '—',
      oursVsOfficial:
        base && v !== base ? `${fmt.ratio(v.rps / base.rps)} req/s of no replica` : '—',
      note:
        `1 process, ${o.spLanes} SP lanes + ${o.users} user lanes (login mode), ${o.seconds} s; a loop = write, read it back, ${o.plainReads} reads of ${fmt.int(o.seededRows)} seeded rows; ` +
        `reads served = growth of idx_scan of p9_rows_pkey on each server: primary ${fmt.int(v.primaryReads)}, replica ${fmt.int(v.replicaReads)} (${fmt.int(v.reads)} reads answered); ` +
        `${fmt.int(v.writes)} writes, ${v.errors} errors${kit}${target}${errors}`,
    };
  });
}
