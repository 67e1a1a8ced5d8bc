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
