/**
 * `pnpm start` (in examples/appkit-app): the orders app on AppKit until Ctrl+C, on the Lakebase
 * `chooseLakebase()` picks (a real one, a running `lakebase-kit dev`, or a local one of its own).
 */
import { redactSecrets } from '@lakebase-kit/core';
import {
  bannerLines,
  chooseLakebase,
  closeOnStop,
  onStopSignal,
  parseStartArgs,
  runMain,
  START_OPTIONS_HELP,
} from '@lakebase-kit/example-orders-app/shared';
import { type AppkitApp, startAppkitApp } from './app.js';

const SIGNALS: NodeJS.Signals[] = ['SIGINT', 'SIGTERM', 'SIGHUP'];

const help = `Usage: pnpm --filter @lakebase-kit/example-appkit-app start [-- options]

Starts the orders app on AppKit with the lakebase() plugin of @lakebase-kit/appkit, on the same
Lakebase as the orders app would pick (see its --help).

Options:
${START_OPTIONS_HELP}
Env: PORT (default DATABRICKS_APP_PORT, then 8000), HOST.
`;

/**
 * AppKit's server registers SIGINT/SIGTERM handlers that end in `process.exit()`, which would
 * leave no time to stop the local Lakebase: keep only the handlers that were there before.
 */
function dropHandlersAddedBy(start: () => Promise<AppkitApp>): Promise<AppkitApp> {
  const before = new Map(SIGNALS.map((s) => [s, new Set(process.listeners(s))]));
  const drop = () => {
    for (const signal of SIGNALS) {
      for (const listener of process.listeners(signal)) {
        if (!before.get(signal)!.has(listener)) process.removeListener(signal, listener);
      }
    }
  };
  return start().finally(drop);
}

async function main(): Promise<number> {
  const args = parseStartArgs(process.argv.slice(2));
  if (args.help) {
    process.stdout.write(help);
    return 0;
  }
  let app: AppkitApp;
  let stop: Promise<NodeJS.Signals>;
  try {
    const source = await chooseLakebase({ env: process.env, ...args.choose });
    // embedded Postgres installs exit hooks on import; onStopSignal() replaces them.
    if (source.kind === 'own') await import('@lakebase-kit/local');
    stop = onStopSignal();
    app = await dropHandlersAddedBy(() => startAppkitApp({ source }));
  } catch (error) {
    const message = error instanceof Error ? `${error.name}: ${error.message}` : String(error);
    process.stderr.write(`Could not start the AppKit app: ${redactSecrets(message, 2000)}\n`);
    return 1;
  }
  const lines = [
    `AppKit orders app: ${app.url}`,
    ...(await bannerLines(app.lakebaseSource, app.url)),
  ];
  lines.push('', 'Press Ctrl+C to stop.');
  process.stdout.write(`${lines.join('\n')}\n`);

  return closeOnStop(stop, app);
}

runMain(main, redactSecrets);
