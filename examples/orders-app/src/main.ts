/**
 * `pnpm start`: the orders app until Ctrl+C, on the Lakebase `chooseLakebase()` picks (a real
 * one, a running `lakebase-kit dev`, or a local one of its own). Usage:
 * `node --import tsx src/main.ts [--orm drizzle|kysely|prisma] [--local] [--data-dir DIR] [--env-file FILE]`.
 */
import { redactSecrets } from '@lakebase-kit/core';
import { type OrdersApp, startOrdersApp } from './app.js';
import { bannerLines } from './lakebase-source.js';
import { chooseLakebase } from './mode.js';
import { parseOrm } from './repos/index.js';
import { closeOnStop, onStopSignal, runMain } from './signals.js';
import { parseStartArgs, START_OPTIONS_HELP } from './start-args.js';

const help = `Usage: pnpm start [-- options]

Starts the orders app (Express; Drizzle, Kysely or Prisma) on:
  - the Lakebase of LAKEBASE_ENDPOINT and PGHOST, when both are set (as in a Databricks App);
  - else, in development, a running \`lakebase-kit dev\` (its env file), or a local Lakebase
    of its own. As a Databricks App or with NODE_ENV=production, it never starts one unasked.

Options:
  --orm <name>       drizzle (default), kysely or prisma (env ORM works too, e.g. in app.yaml)
${START_OPTIONS_HELP}
Env: PORT (default DATABRICKS_APP_PORT, then 3000; 0 = any free port), HOST.
`;

async function banner(app: OrdersApp): Promise<string> {
  const lines = [`Orders app (${app.orm}): ${app.url}`];
  if (app.busyPort !== undefined) lines.push(`(port ${app.busyPort} was busy)`);
  lines.push(...(await bannerLines(app.lakebaseSource, app.url)), '', 'Press Ctrl+C to stop.');
  return lines.join('\n');
}

async function main(): Promise<number> {
  const args = parseStartArgs(process.argv.slice(2), { orm: { type: 'string' } });
  if (args.help) {
    process.stdout.write(help);
    return 0;
  }
  let app: OrdersApp;
  let stop: Promise<NodeJS.Signals>;
  try {
    const orm = parseOrm((args.values.orm as string | undefined) ?? process.env.ORM);
    const source = await chooseLakebase({ env: process.env, ...args.choose });
    // Load the local Lakebase before taking over the signals: embedded Postgres installs its
    // own exit hooks on import (they would exit with 130), which onStopSignal() replaces.
    if (source.kind === 'own') await import('@lakebase-kit/local');
    stop = onStopSignal();
    app = await startOrdersApp({
      orm,
      source,
      // Only the default port may be swapped for a free one; an explicit PORT fails clearly.
      fallbackToFreePort:
        process.env.PORT === undefined && process.env.DATABRICKS_APP_PORT === undefined,
    });
  } catch (error) {
    const message = error instanceof Error ? `${error.name}: ${error.message}` : String(error);
    process.stderr.write(`Could not start the orders app: ${redactSecrets(message, 2000)}\n`);
    return 1;
  }
  process.stdout.write(`${await banner(app)}\n`);

  return closeOnStop(stop, app);
}

runMain(main, redactSecrets);
