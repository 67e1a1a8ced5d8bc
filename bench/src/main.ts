/**
 * `pnpm bench`: starts a local Lakebase, runs P1–P9 (each workload in a child process, so
 * the local Lakebase's proxy never shares an event loop with the code being measured),
 * prints the table and writes `runs/latest.{json,md}` (git-ignored). `--save` (a full run
 * without failures) writes the committed `results/latest.{json,md}` instead and regenerates
 * the tables of bench/README.md and README.md from them. Arguments: scenario names (`p1 p3`)
 * to run a subset, `--quick` for small sizes (neither can be saved).
 * Ctrl-C stops the children and the local Lakebase; nothing is left running.
 */
import { spawnSync } from 'node:child_process';
import { mkdir } from 'node:fs/promises';
import os from 'node:os';
import { fileURLToPath } from 'node:url';
import { type LocalLakebase, startLocalLakebase } from '@lakebase-kit/local';
import { BENCH_README, publish, ROOT_README, RUNS, SAVED } from './publish.js';
import { busyWarning, describeMachine, machineLine, textTable } from './report.js';
import { killChildren } from './runner.js';
import { type BenchContext, childEnv, type Row } from './scenarios/context.js';
import { type P1Options, p1Rows, runP1 } from './scenarios/p1-overhead.js';
import { type P2Options, p2Rows, runP2 } from './scenarios/p2-storm.js';
import { type P3Options, p3Rows, runP3 } from './scenarios/p3-rollover.js';
import { type P4Options, p4Rows, runP4 } from './scenarios/p4-users.js';
import { type P5Options, p5Rows, runP5 } from './scenarios/p5-http.js';
import { type P6Options, p6Rows, runP6 } from './scenarios/p6-many-users.js';
import { type P7Options, p7Rows, runP7 } from './scenarios/p7-one-process.js';
import { type P8Options, p8Rows, runP8 } from './scenarios/p8-scale-out.js';
import { type P9Options, p9Rows, runP9 } from './scenarios/p9-read-mix.js';
import { type Results, summaryTable } from './summary.js';

interface Sizes {
  p1: P1Options;
  p2: P2Options;
  p3: P3Options;
  p4: P4Options;
  p5: P5Options;
  p6: P6Options;
  p7: P7Options;
  p8: P8Options;
  p9: P9Options;
}

const FULL: Sizes = {
  p1: { blocks: 20, blockSize: 1000, workers: 16, warmup: 1000 },
  p2: { connections: 50, latencyMs: 200 },
  p3: { ttlSeconds: 5, latencyMs: 200, durationMs: 15_000, workers: 4 },
  p4: { users: 500, queriesPerUser: 3, concurrency: 500, budget: 50 },
  p5: { seconds: 5, connections: 10, users: 5 },
  p6: {
    users: 1000,
    connections: 16,
    seconds: 4,
    modes: ['login', 'set-role', 'auto'],
    budget: 50,
  },
  p7: { blocks: 20, blockSize: 1000, warmup: 1000 },
  p8: {
    processes: 8,
    usersPerProcess: 1000,
    lanes: 16,
    seconds: 10,
    requestTimeoutMs: 10_000,
    maxConnections: 104,
    poolSize: 90,
    maxDbConnections: 90,
    sampleEveryMs: 50,
    cells: [
      { mode: 'login', pooled: false, budget: 50 },
      { mode: 'login', pooled: false, budget: 12 },
      { mode: 'set-role', pooled: false, budget: 50 },
      { mode: 'login', pooled: true, budget: 50 },
      { mode: 'set-role', pooled: true, budget: 50 },
    ],
  },
  p9: { seconds: 8, spLanes: 8, users: 8, plainReads: 8, seededRows: 10_000, maxWaitMs: 200 },
};

const QUICK: Sizes = {
  p1: { blocks: 4, blockSize: 500, workers: 16, warmup: 200 },
  p2: FULL.p2,
  p3: { ...FULL.p3, durationMs: 4000 },
  p4: { ...FULL.p4, users: 100, concurrency: 100 },
  p5: { ...FULL.p5, seconds: 2 },
  p6: { ...FULL.p6, seconds: 2 },
  p7: { blocks: 6, blockSize: 500, warmup: 300 },
  p8: { ...FULL.p8, usersPerProcess: 100, lanes: 8, seconds: 3 },
  p9: { ...FULL.p9, seconds: 3, spLanes: 4, users: 4 },
};

const SCENARIOS = ['p1', 'p2', 'p3', 'p4', 'p5', 'p6', 'p7', 'p8', 'p9'] as const;
type Scenario = (typeof SCENARIOS)[number];

const log = (line: string) => process.stderr.write(`[bench] ${line}\n`);

async function main(): Promise<void> {
  const args = process.argv.slice(2);
  const quick = args.includes('--quick');
  const picked = SCENARIOS.filter((s) => args.includes(s));
  const selected: Scenario[] = picked.length ? picked : [...SCENARIOS];
  const full = !quick && selected.length === SCENARIOS.length;
  const sizes = quick ? QUICK : FULL;
  const loadAtStart = Math.round(os.loadavg()[0]! * 100) / 100;
  const started = performance.now();

  log('starting the local Lakebase');
  const lb = await startLocalLakebase();
  // the scenarios' own local Lakebases (P8, P9), stopped with the shared one (stop() is idempotent)
  const extra: LocalLakebase[] = [];
  const startLakebase: BenchContext['startLakebase'] = async (options) => {
    const own = await startLocalLakebase(options);
    extra.push(own);
    return own;
  };
  let stopping: Promise<void> | undefined;
  const stop = () => {
    stopping ??= (async () => {
      killChildren();
      await Promise.all([lb.stop(), ...extra.map((own) => own.stop())]);
    })();
    return stopping;
  };
  const onSignal = (signal: NodeJS.Signals) => {
    log(`${signal}: stopping`);
    void stop().finally(() => process.exit(130));
  };
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);

  const results: Results = {};
  const rows: Row[] = [];
  const failures: Partial<Record<Scenario, string>> = {};
  try {
    const ctx: BenchContext = { lb, env: childEnv(lb), log, startLakebase };
    for (const scenario of selected) {
      const t = performance.now();
      log(`${scenario.toUpperCase()} …`);
      try {
        rows.push(...(await runScenario(scenario, ctx, sizes, results)));
        log(`${scenario.toUpperCase()} done in ${((performance.now() - t) / 1000).toFixed(1)} s`);
      } catch (error) {
        // one broken row group must not hide the others; the run still fails at the end
        const message = String((error as Error)?.message ?? error).split('\n')[0] as string;
        failures[scenario] = message;
        rows.push({ metric: `${scenario.toUpperCase()} failed`, note: message });
        log(`${scenario.toUpperCase()} failed: ${(error as Error)?.stack ?? message}`);
        ctx.lb.faults.reset();
        killChildren();
        await Promise.all(extra.map((own) => own.stop()));
      }
    }
  } finally {
    await stop();
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  }

  const seconds = Math.round((performance.now() - started) / 100) / 10;
  const machine = describeMachine(loadAtStart);
  const report = { machine, seconds, quick, scenarios: selected, failures, results, rows };
  const warning = busyWarning(machine);
  process.stdout.write(`\n${textTable(rows)}\n\n${machineLine(machine)}; ${seconds} s\n`);
  if (warning) process.stdout.write(`${warning}\n`);
  process.stdout.write(`\nAt a glance:\n${summaryTable(results)}\n`);

  const failed = Object.keys(failures).length > 0;
  const save = args.includes('--save') && full && !failed;
  if (args.includes('--save') && !save) {
    log('--save takes a full run (all of P1-P9, not --quick) without failures: not saved');
  }
  await mkdir(save ? SAVED : RUNS, { recursive: true });
  const written = await publish(report, save);
  if (save) {
    formatWithBiome(fileURLToPath(BENCH_README));
    formatWithBiome(fileURLToPath(ROOT_README));
  }
  log(`wrote ${written.join(', ')}${save ? '' : ' (pnpm bench -- --save commits a full run)'}`);
  if (failed) throw new Error(`failed: ${Object.keys(failures).join(', ')}`);
}

/** The repo lints markdown with Biome (it aligns tables); keep the generated READMEs clean. */
function formatWithBiome(path: string): void {
  const run = spawnSync('pnpm', ['exec', 'biome', 'format', '--write', path], {
    cwd: fileURLToPath(new URL('..', import.meta.url)),
    stdio: 'ignore',
  });
  if (run.status !== 0)
    log(`could not run Biome on ${path}: run \`pnpm format\` before committing`);
}

async function runScenario(
  scenario: Scenario,
  ctx: BenchContext,
  sizes: Sizes,
  results: Results,
): Promise<Row[]> {
  switch (scenario) {
    case 'p1':
      results.p1 = await runP1(ctx, sizes.p1);
      return p1Rows(results.p1);
    case 'p2':
      results.p2 = await runP2(ctx, sizes.p2);
      return p2Rows(results.p2);
    case 'p3':
      results.p3 = await runP3(ctx, sizes.p3);
      return p3Rows(results.p3);
    case 'p4':
      results.p4 = await runP4(ctx, sizes.p4);
      return p4Rows(results.p4);
    case 'p5':
      results.p5 = await runP5(ctx, sizes.p5);
      return p5Rows(results.p5);
    case 'p6':
      results.p6 = await runP6(ctx, sizes.p6);
      return p6Rows(results.p6);
    case 'p7':
      results.p7 = await runP7(ctx, sizes.p7);
      return p7Rows(results.p7);
    case 'p8':
      results.p8 = await runP8(ctx, sizes.p8);
      return p8Rows(results.p8);
    case 'p9':
      results.p9 = await runP9(ctx, sizes.p9);
      return p9Rows(results.p9);
  }
}

main().then(
  () => process.exit(0),
  (error: unknown) => {
    log(`failed: ${(error as Error)?.stack ?? String(error)}`);
    process.exit(1);
  },
);
