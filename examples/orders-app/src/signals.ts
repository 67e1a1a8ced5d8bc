/** Ctrl+C / SIGTERM handling for `pnpm start`: we decide how to stop and with which code. */
const STOP_SIGNALS: NodeJS.Signals[] = ['SIGINT', 'SIGTERM', 'SIGHUP'];

/**
 * Replaces every SIGINT/SIGTERM/SIGHUP handler (embedded Postgres's exit hooks among them)
 * and resolves on the first signal. Later signals only print a note: stopping continues, so
 * no Postgres is left behind.
 */
export function onStopSignal(): Promise<NodeJS.Signals> {
  for (const signal of STOP_SIGNALS) process.removeAllListeners(signal);
  return new Promise((resolve) => {
    let received = false;
    for (const signal of STOP_SIGNALS) {
      process.on(signal, () => {
        if (received) {
          process.stderr.write(`Received ${signal} again, still stopping...\n`);
          return;
        }
        received = true;
        resolve(signal);
      });
    }
  });
}

/** Waits for the stop signal, then closes the app (HTTP server, pools, local Lakebase). */
export async function closeOnStop(
  stop: Promise<NodeJS.Signals>,
  app: { close(): Promise<void> },
): Promise<number> {
  const signal = await stop;
  process.stderr.write(`\nReceived ${signal}, stopping...\n`);
  await app.close();
  process.stderr.write('Stopped.\n');
  return 0;
}

/** Runs `main` and exits with its code; an unexpected error is printed (never a secret). */
export function runMain(main: () => Promise<number>, redact: (text: string) => string): void {
  main().then(
    (code) => process.exit(code),
    (error: unknown) => {
      process.stderr.write(`${redact(String(error))}\n`);
      process.exit(1);
    },
  );
}
