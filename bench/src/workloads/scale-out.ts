/**
 * P8 (child side): one app process of several, serving its own users. Per cell it makes a
 * `Lakebase` with that cell's settings (`pooler`, `userPools.mode`, `userPools.maxConnections`),
 * checks its hosts (`ready()`), warms it with one request of a user that is not measured (which
 * also makes the first login through the pooled host), replies, and on `go` runs `lanes`
 * request loops for `seconds`: each request is the next user's `asUser(headers).query(...)`
 * (round robin over this process's users), its `current_user` checked against the user. A
 * request without an answer within `requestTimeoutMs` counts as failed; the loops start no
 * request after `seconds`.
 */
import { createLakebase, type Lakebase, redactSecrets } from '@lakebase-kit/core';
import type { Command, ScaleOutCell, ScaleOutCellResult, ScaleOutTask } from '../protocol.js';

const SQL = 'select current_user as me';

class TimedOut extends Error {}

function within<T>(work: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new TimedOut(`no answer within ${ms} ms`)), ms);
  });
  work.catch(() => {}); // a late rejection after the timeout is not unhandled
  return Promise.race([work, timeout]).finally(() => clearTimeout(timer));
}

async function runCell(lakebase: Lakebase, task: ScaleOutTask): Promise<ScaleOutCellResult> {
  const users = task.users;
  const served = new Set<number>();
  const samples = new Set<string>();
  let next = 0;
  let requests = 0;
  let failed = 0;
  let mismatches = 0;
  let timedOut = 0;
  const start = performance.now();
  const deadline = start + task.seconds * 1000;
  const lane = async () => {
    while (performance.now() < deadline) {
      const index = next++ % users.length;
      const headers = users[index] as Record<string, string>;
      try {
        const { rows } = await within(
          (async () => lakebase.asUser(headers).query<{ me: string }>(SQL))(),
          task.requestTimeoutMs,
        );
        requests++;
        if (rows[0]?.me === headers['x-forwarded-email']) served.add(index);
        else {
          mismatches++;
          failed++;
        }
      } catch (error) {
        requests++;
        failed++;
        if (error instanceof TimedOut) timedOut++;
        if (samples.size < 5) samples.add(redactSecrets(String((error as Error).message), 160));
      }
    }
  };
  await Promise.all(Array.from({ length: task.lanes }, lane));
  return {
    requests,
    failed,
    mismatches,
    timedOut,
    errorSamples: [...samples],
    usersServed: served.size,
    wallMs: performance.now() - start,
  };
}

/** Closes a cell's `Lakebase`, without waiting on requests a pooler may hold for minutes. */
async function closeWithin(lakebase: Lakebase, ms: number): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  await Promise.race([
    lakebase.close().catch(() => {}),
    new Promise<void>((resolve) => {
      timer = setTimeout(resolve, ms);
    }),
  ]);
  clearTimeout(timer);
}

export async function runScaleOut(
  task: ScaleOutTask,
  commands: AsyncIterable<Command>,
  reply: (data: unknown) => Promise<void>,
): Promise<Record<string, never>> {
  const inbox = commands[Symbol.asyncIterator]();
  for (;;) {
    const { value: command, done } = await inbox.next();
    if (done || command.type === 'stop') break;
    if (command.type !== 'cell') continue;
    const cell: ScaleOutCell = command.cell;
    const lakebase = createLakebase({
      pooler: cell.pooled,
      userPools: { mode: cell.mode, maxConnections: cell.budget },
    });
    try {
      let warmupError: string | undefined;
      try {
        await lakebase.ready();
        await lakebase.asUser(task.warmup).query(SQL);
      } catch (error) {
        warmupError = redactSecrets(String((error as Error).message), 160);
      }
      await reply({ warmupError });
      const go = await inbox.next();
      if (go.done || go.value.type !== 'go') break;
      await reply(await runCell(lakebase, task));
    } finally {
      await closeWithin(lakebase, 3000);
    }
  }
  return {};
}
