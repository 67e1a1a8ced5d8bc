/**
 * A workload child, forked by the orchestrator: registers an OTel SDK (the same for every
 * contender), receives one task over IPC, answers with its result, and exits. It never
 * outlives the orchestrator: a lost IPC channel ends it.
 */
import { redactSecrets } from '@lakebase-kit/core';
import { registerOtelSdk } from './otel.js';
import type { ChildMessage, Task } from './protocol.js';
import { runOverhead } from './workloads/overhead.js';
import { runRollover } from './workloads/rollover.js';
import { startServer } from './workloads/server.js';
import { runStorm } from './workloads/storm.js';
import { runUsers } from './workloads/users.js';

const sdk = registerOtelSdk();

function send(message: ChildMessage): Promise<void> {
  return new Promise((resolve) => process.send?.(message, () => resolve()));
}

async function run(task: Task): Promise<void> {
  switch (task.kind) {
    case 'overhead':
      return send({ type: 'result', result: await runOverhead(task, sdk) });
    case 'storm':
      return send({ type: 'result', result: await runStorm(task) });
    case 'rollover':
      return send({ type: 'result', result: await runRollover(task) });
    case 'users':
      return send({ type: 'result', result: await runUsers(task) });
    case 'server': {
      const server = await startServer();
      const stopped = new Promise<void>((resolve) =>
        process.on('message', (message) => {
          if ((message as { type?: string }).type === 'stop') resolve();
        }),
      );
      await send({ type: 'ready', port: server.port });
      await stopped;
      await server.close();
      return send({ type: 'result', result: {} });
    }
  }
}

let finished = false;
process.on('disconnect', () => {
  if (!finished) process.exit(1);
});
process.once('message', (task: Task) => {
  run(task)
    .catch((error: unknown) =>
      send({ type: 'error', message: redactSecrets(String((error as Error)?.stack ?? error)) }),
    )
    .finally(async () => {
      await sdk.shutdown().catch(() => {});
      finished = true;
      process.disconnect?.();
      process.exit(0);
    });
});
