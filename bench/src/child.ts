/**
 * A workload child, forked by the orchestrator: receives one task over IPC, registers an OTel
 * SDK (the same for every contender; P7's no-SDK variant registers none) before any pool exists (then commands, for P1, P8 and the P5 server), answers
 * with its result, and exits. It never outlives the orchestrator: a lost IPC channel ends it.
 */
import { redactSecrets } from '@lakebase-kit/core';
import { Inbox } from './inbox.js';
import { type OtelSdk, registerOtelSdk } from './otel.js';
import type { ChildMessage, Command, Task } from './protocol.js';
import { runInProcess } from './workloads/in-process.js';
import { runOverhead } from './workloads/overhead.js';
import { runReadMix } from './workloads/read-mix.js';
import { runRollover } from './workloads/rollover.js';
import { runScaleOut } from './workloads/scale-out.js';
import { startServer } from './workloads/server.js';
import { runStorm } from './workloads/storm.js';
import { runUsers } from './workloads/users.js';

let sdk: OtelSdk | undefined;
const inbox = new Inbox<Command>();

function send(message: ChildMessage): Promise<void> {
  return new Promise((resolve) => process.send?.(message, () => resolve()));
}

const reply = (data: unknown) => send({ type: 'reply', data });

async function run(task: Task, sdk: OtelSdk | undefined): Promise<unknown> {
  switch (task.kind) {
    case 'overhead':
      return runOverhead(task, sdk ?? registerOtelSdk(), inbox, reply);
    case 'inprocess':
      return runInProcess(task, sdk);
    case 'storm':
      return runStorm(task);
    case 'rollover':
      return runRollover(task);
    case 'users':
      return runUsers(task);
    case 'scaleout':
      return runScaleOut(task, inbox, reply);
    case 'readmix':
      return runReadMix(task);
    case 'server': {
      const server = await startServer(task);
      await send({ type: 'ready', port: server.port });
      for await (const command of inbox) if (command.type === 'stop') break;
      await server.close();
      return {};
    }
  }
}

let finished = false;
let started = false;
process.on('disconnect', () => {
  if (!finished) process.exit(1);
});
process.on('message', (message: Task | Command) => {
  if (started) {
    inbox.push(message as Command);
    return;
  }
  started = true;
  const task = message as Task;
  sdk = task.kind === 'inprocess' && !task.sdk ? undefined : registerOtelSdk();
  run(task, sdk)
    .then(
      (result) => send({ type: 'result', result }),
      (error: unknown) =>
        send({ type: 'error', message: redactSecrets(String((error as Error)?.stack ?? error)) }),
    )
    .finally(async () => {
      await sdk?.shutdown().catch(() => {});
      finished = true;
      process.disconnect?.();
      process.exit(0);
    });
});
