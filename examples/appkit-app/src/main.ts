/**
 * `pnpm start` (in examples/appkit-app): the orders app on AppKit, on a local Lakebase unless a
 * real Lakebase's environment is set, until Ctrl+C.
 */
import { redactSecrets } from '@lakebase-kit/core';
import {
  closeOnStop,
  curlCommands,
  DEMO_USERS,
  detectMode,
  onStopSignal,
  runMain,
} from '@lakebase-kit/example-orders-app/shared';
import { type AppkitApp, startAppkitApp } from './app.js';

const SIGNALS: NodeJS.Signals[] = ['SIGINT', 'SIGTERM', 'SIGHUP'];

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
  const mode = process.argv.includes('--local')
    ? { local: true, reason: '--local' }
    : detectMode(process.env);
  // embedded Postgres installs exit hooks on import; onStopSignal() replaces them.
  if (mode.local) await import('@lakebase-kit/local');
  const stop = onStopSignal();
  let app: AppkitApp;
  try {
    app = await dropHandlersAddedBy(() =>
      startAppkitApp({ local: mode.local, port: Number(process.env.PORT ?? 8000) }),
    );
  } catch (error) {
    const message = error instanceof Error ? `${error.name}: ${error.message}` : String(error);
    process.stderr.write(`Could not start the AppKit app: ${redactSecrets(message)}\n`);
    return 1;
  }
  const lines = [`AppKit orders app: ${app.url}`];
  if (app.local) {
    lines.push(
      `Local Lakebase (${mode.reason}): token proxy 127.0.0.1:${app.local.proxyPort}`,
      '',
      await curlCommands(app.local, DEMO_USERS, app.url),
      '',
      `# every order, as the app's service principal\ncurl ${app.url}api/orders`,
    );
  }
  lines.push('', 'Press Ctrl+C to stop.');
  process.stdout.write(`${lines.join('\n')}\n`);

  return closeOnStop(stop, app);
}

runMain(main, redactSecrets);
