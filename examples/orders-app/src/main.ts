/**
 * `pnpm start`: the orders app on a local Lakebase (or a real one when its environment is
 * set), until Ctrl+C. Usage: `node --import tsx src/main.ts [--orm drizzle|kysely|prisma] [--local]`.
 */
import { parseArgs } from 'node:util';
import { redactSecrets } from '@lakebase-kit/core';
import { type OrdersApp, startOrdersApp } from './app.js';
import { curlCommands } from './local-mode.js';
import { DEMO_USERS } from './migrations.js';
import { detectMode } from './mode.js';
import { parseOrm } from './repos/index.js';
import { closeOnStop, onStopSignal, runMain } from './signals.js';

const help = `Usage: pnpm start [-- --orm drizzle|kysely|prisma] [-- --local]

Starts the orders app. Without a real Lakebase's environment (LAKEBASE_ENDPOINT and a
non-local PGHOST), starts a local Lakebase first. Env: ORM (default drizzle), PORT (default
3000), HOST (real Lakebase only; default 0.0.0.0).
`;

async function banner(app: OrdersApp, reason: string): Promise<string> {
  const lines = [`Orders app (${app.orm}): ${app.url}`];
  if (app.busyPort !== undefined) lines.push(`(port ${app.busyPort} was busy)`);
  if (app.local) {
    lines.push(
      `Local Lakebase (${reason}): token proxy 127.0.0.1:${app.local.proxyPort} → Postgres 127.0.0.1:${app.local.postgresPort}`,
      `Local Lakebase data dir: ${app.local.dataDir} (removed on exit)`,
      '',
      'Open the URL and pick alice or bob, or try:',
      '',
      await curlCommands(app.local, DEMO_USERS, app.url),
      '',
      `# every order, as the app's service principal\ncurl ${app.url}api/orders`,
    );
  } else {
    lines.push(`Real Lakebase (${reason}); user routes need the Databricks Apps proxy headers.`);
  }
  lines.push('', 'Press Ctrl+C to stop.');
  return lines.join('\n');
}

async function main(): Promise<number> {
  const { values } = parseArgs({
    // `pnpm start -- --orm kysely` passes the `--` through.
    args: process.argv.slice(2).filter((arg) => arg !== '--'),
    options: {
      orm: { type: 'string' },
      local: { type: 'boolean' },
      help: { type: 'boolean', short: 'h' },
    },
  });
  if (values.help) {
    process.stdout.write(help);
    return 0;
  }
  const orm = parseOrm(values.orm ?? process.env.ORM);
  const mode = values.local ? { local: true, reason: '--local' } : detectMode(process.env);
  // Import the local Lakebase before taking over the signals: embedded Postgres installs its
  // own exit hooks on import (they would exit with 130), which onStopSignal() replaces.
  if (mode.local) await import('@lakebase-kit/local');
  const stop = onStopSignal();

  let app: OrdersApp;
  try {
    app = await startOrdersApp({
      orm,
      local: mode.local,
      // Only the default port may be swapped for a free one; an explicit PORT fails clearly.
      fallbackToFreePort:
        process.env.PORT === undefined && process.env.DATABRICKS_APP_PORT === undefined,
    });
  } catch (error) {
    const message = error instanceof Error ? `${error.name}: ${error.message}` : String(error);
    process.stderr.write(`Could not start the orders app: ${redactSecrets(message)}\n`);
    return 1;
  }
  process.stdout.write(`${await banner(app, mode.reason)}\n`);

  return closeOnStop(stop, app);
}

runMain(main, redactSecrets);
