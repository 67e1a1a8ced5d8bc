/**
 * P6 many users over HTTP: 1,000 users take turns on `GET /me` (`asUser(req).query`), with
 * `GET /sp` (the service principal) beside it, on the same server, per `userPools.mode`:
 * `login` (a pool per user, budget 50), `set-role` (the SP's pool under `SET ROLE`) and `auto`
 * (set-role where the SP may). autocannon with 16 connections, a warm-up, then 1 s slices
 * alternating the routes. Both routes get the same requests (the user's forwarded headers, as
 * Databricks Apps sends them on every request), so they differ only in how they reach Postgres. Per mode: req/s of both routes and their ratio, the new Postgres
 * connections and the peak connections the proxy saw while `/me` ran, and identity mismatches
 * (the server checks `current_user` against the request's user on every answer).
 */
import autocannon from 'autocannon';
import type { ServerStats } from '../protocol.js';
import { spawnTask } from '../runner.js';
import { round } from '../stats.js';
import { type BenchContext, fmt, type Row, settleConnections } from './context.js';

export type P6Mode = 'login' | 'set-role' | 'auto';

export interface P6Options {
  users: number;
  connections: number;
  /** Seconds of measurement per route (in 1 s slices). */
  seconds: number;
  modes: P6Mode[];
  /** `userPools.maxConnections` (login mode's budget). */
  budget: number;
}

interface ModeResult {
  mode: P6Mode;
  spRps: number;
  userRps: number;
  userVsSp: number;
  /** Postgres logins the proxy saw during the `/me` slices. */
  newConnections: number;
  /** Peak open connections at the proxy during the `/me` slices. */
  peakConnections: number;
  failed: number;
  mismatches: number;
}

export interface P6Result {
  options: P6Options;
  modes: ModeResult[];
}

type Request = { method: 'GET'; path: string; headers?: Record<string, string> };

const fire = (url: string, requests: Request[], connections: number, seconds: number) =>
  autocannon({ url, connections, duration: seconds, requests });

const quote = (name: string) => `"${name.replaceAll('"', '""')}"`;

/** Roles for every user, in a few statements; the SP may SET ROLE to them (SET, not INHERIT). */
async function createUsers(ctx: BenchContext, count: number): Promise<Record<string, string>[]> {
  const emails = Array.from({ length: count }, (_, i) => `p6-${i + 1}@bench.example`);
  const sp = quote(ctx.lb.servicePrincipal.clientId);
  for (let i = 0; i < emails.length; i += 500) {
    const chunk = emails.slice(i, i + 500).map(quote);
    await ctx.lb.sql(
      `${chunk.map((q) => `create role ${q} login nosuperuser nobypassrls;`).join('\n')}
       grant connect on database ${quote(ctx.lb.database)} to ${chunk.join(', ')};
       grant ${chunk.join(', ')} to ${sp} with inherit false, set true;`,
    );
  }
  return emails.map((email) => ({
    'x-forwarded-access-token': ctx.lb.userToken(email),
    'x-forwarded-email': email,
  }));
}

async function runMode(
  ctx: BenchContext,
  options: P6Options,
  mode: P6Mode,
  userRequests: Request[],
): Promise<ModeResult> {
  await settleConnections(ctx.lb);
  // Databricks Apps forwards the user's headers on every request, whichever route it takes:
  // the SP route gets the same requests, so the two differ only in how they reach Postgres
  const spRequests: Request[] = userRequests.map((r) => ({ ...r, path: '/sp' }));
  const server = spawnTask({ kind: 'server', mode, budget: options.budget }, ctx.env);
  try {
    const url = `http://127.0.0.1:${await server.ready}`;
    const c = options.connections;
    // warm-up: every user verified once (and, in login mode, the budget's churn under way)
    await fire(url, spRequests, c, 1);
    await fire(url, userRequests, c, 3);
    let spRequestsDone = 0;
    let spSeconds = 0;
    let userRequestsDone = 0;
    let userSeconds = 0;
    let failed = 0;
    let newConnections = 0;
    let peakConnections = 0;
    for (let slice = 0; slice < options.seconds; slice++) {
      const order = slice % 2 === 0 ? (['sp', 'user'] as const) : (['user', 'sp'] as const);
      for (const route of order) {
        if (route === 'sp') {
          const r = await fire(url, spRequests, c, 1);
          spRequestsDone += r.requests.total;
          spSeconds += r.duration;
          failed += r.errors + r.non2xx;
        } else {
          ctx.lb.resetStats();
          const r = await fire(url, userRequests, c, 1);
          const after = ctx.lb.stats();
          userRequestsDone += r.requests.total;
          userSeconds += r.duration;
          failed += r.errors + r.non2xx;
          newConnections += Object.values(after.connections).reduce((n, x) => n + x.total, 0);
          peakConnections = Math.max(peakConnections, after.peakConnections);
        }
      }
    }
    const stats = (await (await fetch(`${url}/stats`)).json()) as ServerStats;
    const spRps = spRequestsDone / spSeconds;
    const userRps = userRequestsDone / userSeconds;
    ctx.log(
      `P6 ${mode}: SP ${fmt.int(spRps)} req/s, asUser ${fmt.int(userRps)} req/s, ` +
        `${newConnections} new connections, peak ${peakConnections}`,
    );
    return {
      mode,
      spRps: Math.round(spRps),
      userRps: Math.round(userRps),
      userVsSp: round(userRps / spRps, 4),
      newConnections,
      peakConnections,
      failed,
      mismatches: stats.mismatches,
    };
  } finally {
    server.command({ type: 'stop' });
    await server.result.catch(() => undefined);
  }
}

export async function runP6(ctx: BenchContext, options: P6Options): Promise<P6Result> {
  const headers = await createUsers(ctx, options.users);
  const userRequests: Request[] = headers.map((h) => ({ method: 'GET', path: '/me', headers: h }));
  const modes: ModeResult[] = [];
  for (const mode of options.modes) modes.push(await runMode(ctx, options, mode, userRequests));
  return { options, modes };
}

export function p6Rows(r: P6Result): Row[] {
  const o = r.options;
  return r.modes.map((m) => ({
    metric: `P6 ${o.users} users over HTTP, userPools.mode '${m.mode}'`,
    raw: '—',
    official: '—',
    ours: `asUser ${fmt.int(m.userRps)} req/s vs SP ${fmt.int(m.spRps)} req/s (${fmt.ratio(m.userVsSp)})`,
    note:
      `${m.newConnections} new connections and peak ${m.peakConnections} while /me ran; ` +
      `${m.mismatches} identity mismatches; ${m.failed} failed; autocannon ${o.connections} connections, ` +
      `${o.seconds} s per route in alternating 1 s slices`,
  }));
}
