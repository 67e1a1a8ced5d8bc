/**
 * P8 and P9 rows and their summary lines, rendered from fixed results: the targets are judged
 * from the numbers (met / NOT met), never from a timed test.
 */
import { describe, expect, it } from 'vitest';
import { type P8Cell, type P8Result, p8Rows } from '../src/scenarios/p8-scale-out.js';
import { type P9Result, type P9VariantResult, p9Rows } from '../src/scenarios/p9-read-mix.js';
import { summaryTable } from '../src/summary.js';

const cell = (over: Partial<P8Cell>): P8Cell => ({
  mode: 'set-role',
  pooled: true,
  budget: 50,
  rps: 300,
  requests: 3000,
  failed: 0,
  mismatches: 0,
  timedOut: 0,
  usersServed: 2900,
  peakServerConnections: 30,
  samples: 150,
  directDoorPeak: 0,
  pgbouncerPeakServers: 31,
  pgbouncerPeakClients: 80,
  errorSamples: [],
  warmupErrors: [],
  wallMs: 10_010,
  ...over,
});

const p8: P8Result = {
  options: {
    processes: 8,
    usersPerProcess: 1000,
    lanes: 16,
    seconds: 10,
    requestTimeoutMs: 10_000,
    maxConnections: 104,
    poolSize: 90,
    maxDbConnections: 90,
    sampleEveryMs: 50,
    cells: [],
  },
  postgresMaxConnections: 200,
  cells: [
    cell({
      mode: 'login',
      pooled: false,
      rps: 10,
      failed: 900,
      requests: 1000,
      peakServerConnections: 103,
      pgbouncerPeakServers: undefined,
      pgbouncerPeakClients: undefined,
      errorSamples: ['too many connections for database "databricks_postgres"'],
    }),
    cell({
      mode: 'login',
      pooled: true,
      failed: 5,
      errorSamples: ['too many connections for database "databricks_postgres"'],
    }),
    cell({ mode: 'set-role', pooled: false, pgbouncerPeakServers: undefined }),
    cell({}),
  ],
};

const variant = (over: Partial<P9VariantResult>): P9VariantResult => ({
  variant: 'replica',
  seconds: 8,
  loops: 1000,
  writes: 1000,
  reads: 9000,
  readBacks: 1000,
  stale: 0,
  errors: 0,
  errorSamples: [],
  rps: 1250,
  primaryReads: 90,
  replicaReads: 8910,
  primaryShare: 0.01,
  ...over,
});

const p9: P9Result = {
  options: { seconds: 8, spLanes: 8, users: 8, plainReads: 8, seededRows: 10_000, maxWaitMs: 200 },
  targetPrimaryShare: 0.15,
  variants: [
    variant({
      variant: 'primary',
      rps: 2500,
      primaryReads: 9000,
      replicaReads: 0,
      primaryShare: 1,
    }),
    variant({}),
    variant({ variant: 'replica-eventual', stale: 400 }),
  ],
};

describe('P8 rows', () => {
  it('one row per cell; the target is judged on the pooled cells only', () => {
    const rows = p8Rows(p8);
    expect(rows.map((r) => r.metric)).toEqual([
      "P8 8 processes × 1,000 users, 'login', direct, budget 50",
      "P8 8 processes × 1,000 users, 'login', pooled, budget 50",
      "P8 8 processes × 1,000 users, 'set-role', direct",
      "P8 8 processes × 1,000 users, 'set-role', pooled",
    ]);
    expect(rows[0]?.ours).toBe('10 req/s, peak 103 server connections, 900 of 1,000 failed');
    expect(rows[0]?.note).not.toContain('target');
    expect(rows[0]?.note).toContain('first error: too many connections');
    expect(rows[1]?.note).toContain('0 failed: NOT met');
    expect(rows[3]?.note).toContain('0 failed: met');
    expect(rows[3]?.note).toContain('PgBouncer: peak 31 server / 80 client connections');
  });

  it('the summary has a line per mode, pooled against direct', () => {
    const summary = summaryTable({ p8 });
    expect(summary).toContain(
      "| P8 8 processes × 1000 users, 'login': pooled (target ≤ 104 connections, 0 failed: NOT met) | 300 req/s, peak 30 server connections, 5 failed | direct: budget 50: 10 req/s, peak 103 server connections, 900 failed |",
    );
    expect(summary).toContain("'set-role': pooled (target ≤ 104 connections, 0 failed: met)");
  });
});

describe('P9 rows', () => {
  it('one row per variant; the target is judged on the read-your-writes replica', () => {
    const rows = p9Rows(p9);
    expect(rows).toHaveLength(3);
    expect(rows[1]?.ours).toBe(
      '1,250 req/s, primary served 1.0 % of reads, 0 stale of 1,000 read-backs',
    );
    expect(rows[1]?.oursVsOfficial).toBe('0.500× req/s of no replica');
    expect(rows[1]?.note).toContain('0 stale: met');
    expect(rows[2]?.note).not.toContain('target');
  });

  it('stale reads or a primary share over 15 % miss the target', () => {
    const stale = { ...p9, variants: [p9.variants[0]!, variant({ stale: 1 })] };
    expect(p9Rows(stale)[1]?.note).toContain('NOT met');
    const busy = { ...p9, variants: [p9.variants[0]!, variant({ primaryShare: 0.2 })] };
    expect(summaryTable({ p9: busy })).toContain('NOT met');
    expect(summaryTable({ p9 })).toContain(
      "| P9 90 % reads, read replica (read-your-writes): primary's share of reads / stale read-backs (target ≤ 15.0 % / 0: met) | 1.0 % / 0 of 1000, 1250 req/s | no replica: 100.0 % / 0, 2500 req/s (0.50×) |",
    );
  });
});
