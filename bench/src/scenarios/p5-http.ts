/**
 * P5 HTTP throughput, ours: a tiny `node:http` app in a child process with `GET /sp` (the
 * service principal's pool) and `GET /me` (`asUser(req)`, a handful of users' forwarded
 * headers rotating), driven by autocannon from this process. After a warm-up the routes
 * alternate in 1 s slices (A-B, B-A, A-B, …), so drift on a busy machine lands on both alike.
 */
import autocannon from 'autocannon';
import { spawnTask } from '../runner.js';
import { round } from '../stats.js';
import { type BenchContext, fmt, type Row, settleConnections } from './context.js';

export interface P5Options {
  /** Seconds of measurement per route (in 1 s slices). */
  seconds: number;
  connections: number;
  users: number;
}

interface RouteResult {
  requests: number;
  seconds: number;
  rps: number;
  /** Mean of the runs' latency percentiles, ms. */
  p50Ms: number;
  p99Ms: number;
  errors: number;
  non2xx: number;
}

export interface P5Result {
  options: P5Options;
  sp: RouteResult;
  user: RouteResult;
  userVsSp: number;
}

type Request = { method: 'GET'; path: string; headers?: Record<string, string> };

function fire(url: string, requests: Request[], connections: number, seconds: number) {
  return autocannon({ url, connections, duration: seconds, requests });
}

function combine(runs: autocannon.Result[]): RouteResult {
  const requests = runs.reduce((n, r) => n + r.requests.total, 0);
  const seconds = runs.reduce((n, r) => n + r.duration, 0);
  const mean = (pick: (r: autocannon.Result) => number) =>
    round(runs.reduce((n, r) => n + pick(r), 0) / runs.length, 2);
  return {
    requests,
    seconds: round(seconds, 2),
    rps: Math.round(requests / seconds),
    p50Ms: mean((r) => r.latency.p50),
    p99Ms: mean((r) => r.latency.p99),
    errors: runs.reduce((n, r) => n + r.errors, 0),
    non2xx: runs.reduce((n, r) => n + r.non2xx, 0),
  };
}

export async function runP5(ctx: BenchContext, options: P5Options): Promise<P5Result> {
  await settleConnections(ctx.lb);
  // one at a time: concurrent addUser calls can fail with "tuple concurrently updated"
  // (their GRANT CONNECT statements update the same pg_database row)
  const headers: Record<string, string>[] = [];
  for (let i = 0; i < options.users; i++) {
    headers.push(await ctx.lb.userHeaders(`http${i + 1}@bench.example`));
  }
  const spRequests: Request[] = [{ method: 'GET', path: '/sp' }];
  const userRequests: Request[] = headers.map((h) => ({ method: 'GET', path: '/me', headers: h }));

  const server = spawnTask({ kind: 'server' }, ctx.env);
  try {
    const url = `http://127.0.0.1:${await server.ready}`;
    const c = options.connections;
    await fire(url, spRequests, c, 1);
    await fire(url, userRequests, c, 1);
    const spRuns: autocannon.Result[] = [];
    const userRuns: autocannon.Result[] = [];
    for (let slice = 0; slice < options.seconds; slice++) {
      const pair = slice % 2 === 0 ? (['sp', 'user'] as const) : (['user', 'sp'] as const);
      for (const route of pair) {
        if (route === 'sp') spRuns.push(await fire(url, spRequests, c, 1));
        else userRuns.push(await fire(url, userRequests, c, 1));
      }
    }
    const sp = combine(spRuns);
    const user = combine(userRuns);
    ctx.log(`P5 SP route ${fmt.int(sp.rps)} req/s, asUser route ${fmt.int(user.rps)} req/s`);
    return { options, sp, user, userVsSp: round(user.rps / sp.rps, 4) };
  } finally {
    server.command({ type: 'stop' });
    await server.result.catch(() => undefined);
  }
}

export function p5Rows(r: P5Result): Row[] {
  const o = r.options;
  const route = (x: RouteResult) =>
    `${fmt.int(x.rps)} req/s (p50 ${x.p50Ms} ms, p99 ${x.p99Ms} ms${x.errors + x.non2xx ? `, ${x.errors + x.non2xx} failed` : ''})`;
  return [
    {
      metric: 'P5 HTTP, SP route (lakebase.query)',
      raw: '—',
      official: '—',
      ours: route(r.sp),
      note: `autocannon, ${o.connections} connections, ${o.seconds} s per route in alternating 1 s slices; latency = mean of the slices' percentiles`,
    },
    {
      metric: 'P5 HTTP, asUser(req) route',
      raw: '—',
      official: '—',
      ours: route(r.user),
      note: `asUser/SP = ${fmt.ratio(r.userVsSp)}; ${o.users} users' forwarded headers rotating`,
    },
  ];
}
