/**
 * P4 many users: `users` distinct users × `queriesPerUser` queries on behalf of each, all
 * users at once — ours (`createLakebase({ userPools: { maxConnections: 50 } })`, `asUser`)
 * vs AppKit 0.38.1's `createLakebasePoolManager` (3 connections per user, no cap). Peak
 * connections are the proxy's (what the Lakebase endpoint sees); the local Postgres allows
 * `max_connections` (a Lakebase 0.5 CU allows 104).
 */
import { createHash } from 'node:crypto';
import type { UsersResult } from '../protocol.js';
import { runTask } from '../runner.js';
import { type BenchContext, fmt, type Row, settleConnections } from './context.js';

export interface P4Options {
  users: number;
  queriesPerUser: number;
  /** Users running at once. */
  concurrency: number;
  budget: number;
}

interface Side extends UsersResult {
  peakConnections: number;
  credentialCalls: number;
}

export interface P4Result {
  options: P4Options;
  postgresMaxConnections: number;
  ours: Side;
  official: Side;
}

const email = (i: number) => `user${String(i).padStart(4, '0')}@bench.example`;

/** A Databricks-style numeric user id, stable for an email (what x-forwarded-user carries). */
function userId(address: string): string {
  const digest = createHash('sha256').update(address).digest();
  return ((digest.readBigUInt64BE(0) % 9_000_000_000_000_000n) + 1_000_000_000_000_000n).toString();
}

/** Creates the users' Postgres roles in one statement (addUser would take two round trips each). */
async function createRoles(ctx: BenchContext, count: number): Promise<void> {
  await ctx.lb.sql(
    `do $$ declare r text; begin
       for i in 1..${count} loop
         r := 'user' || lpad(i::text, 4, '0') || '@bench.example';
         if not exists (select 1 from pg_roles where rolname = r) then
           execute format('create role %I login nosuperuser nobypassrls', r);
         end if;
         execute format('grant connect on database %I to %I', current_database(), r);
       end loop;
     end $$`,
  );
}

/** The headers Databricks Apps forwards; every user gets a fresh access token. */
function forwardedHeaders(ctx: BenchContext, count: number): Record<string, string>[] {
  return Array.from({ length: count }, (_, i) => {
    const address = email(i + 1);
    return {
      'x-forwarded-access-token': ctx.lb.userToken(address),
      'x-forwarded-email': address,
      'x-forwarded-user': userId(address),
      'x-forwarded-preferred-username': address,
    };
  });
}

async function side(
  ctx: BenchContext,
  contender: 'ours' | 'official',
  o: P4Options,
  users: Record<string, string>[],
): Promise<Side> {
  await settleConnections(ctx.lb);
  ctx.lb.resetStats();
  const r = await runTask<UsersResult>(
    {
      kind: 'users',
      contender,
      users,
      queriesPerUser: o.queriesPerUser,
      concurrency: o.concurrency,
      budget: o.budget,
    },
    ctx.env,
  );
  const stats = ctx.lb.stats();
  const credentialCalls = Object.entries(stats.credentialCalls)
    .filter(([identity]) => identity.endsWith('@bench.example'))
    .reduce((total, [, calls]) => total + calls, 0);
  const result = { ...r, peakConnections: stats.peakConnections, credentialCalls };
  ctx.log(
    `P4 ${contender.padEnd(8)} peak ${result.peakConnections} connections, ${result.errors} error(s), ${fmt.ms(result.wallMs)}`,
  );
  return result;
}

export async function runP4(ctx: BenchContext, options: P4Options): Promise<P4Result> {
  await createRoles(ctx, options.users);
  const [setting] = await ctx.lb.sql<{ max_connections: string }>('show max_connections');
  const users = forwardedHeaders(ctx, options.users);
  const official = await side(ctx, 'official', options, users);
  const ours = await side(ctx, 'ours', options, users);
  return {
    options,
    postgresMaxConnections: Number(setting?.max_connections),
    ours,
    official,
  };
}

export function p4Rows(r: P4Result): Row[] {
  const o = r.options;
  const note = `${o.users} users × ${o.queriesPerUser} queries, ${o.concurrency} users at once; ours: budget ${o.budget}; official: AppKit pool manager, 3 per user, no cap; peak = connections opened through the proxy at once (refused ones included); local Postgres max_connections ${r.postgresMaxConnections} (a Lakebase 0.5 CU allows 104)`;
  const errorCell = (s: Side) =>
    `${fmt.int(s.errors)} of ${fmt.int(o.users * o.queriesPerUser)}${s.wrongIdentity ? ` (+${s.wrongIdentity} wrong identity)` : ''}`;
  return [
    {
      metric: `P4 peak connections at the endpoint, ${o.users} users via asUser`,
      raw: '—',
      official: fmt.int(r.official.peakConnections),
      ours: fmt.int(r.ours.peakConnections),
      oursVsOfficial: fmt.ratio(r.ours.peakConnections / r.official.peakConnections),
      note,
    },
    {
      metric: 'P4 failed queries',
      raw: '—',
      official: errorCell(r.official),
      ours: errorCell(r.ours),
      oursVsOfficial: `${r.ours.errors} vs ${r.official.errors}`,
      note: r.official.errorSamples[0]
        ? `official's first error: ${r.official.errorSamples[0]}`
        : undefined,
    },
    {
      metric: 'P4 user credential calls',
      raw: '—',
      official: fmt.int(r.official.credentialCalls),
      ours: fmt.int(r.ours.credentialCalls),
      oursVsOfficial: fmt.ratio(r.ours.credentialCalls / r.official.credentialCalls),
    },
    {
      metric: 'P4 wall time',
      raw: '—',
      official: fmt.ms(r.official.wallMs),
      ours: fmt.ms(r.ours.wallMs),
      oursVsOfficial: fmt.ratio(r.ours.wallMs / r.official.wallMs),
    },
  ];
}
