/**
 * Forks workload children (child.ts) with the local Lakebase's environment, tracks them so
 * none outlives the benchmark, and turns their IPC answers into promises.
 */
import { type ChildProcess, fork } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { Inbox } from './inbox.js';
import type { ChildMessage, Command, Task } from './protocol.js';

const CHILD = fileURLToPath(new URL('./child.ts', import.meta.url));
const live = new Set<ChildProcess>();

export interface Spawned {
  child: ChildProcess;
  /** The child's `result`, or a rejection if it failed or exited without one. */
  result: Promise<unknown>;
  /** Resolves with the port when a `server` task is listening. */
  ready: Promise<number>;
  /** The child's next `reply` (in order); rejects if the child ends first. */
  nextReply(): Promise<unknown>;
  /** Sends a command; the child answers `block` with a reply. */
  command(command: Command): void;
}

export function spawnTask(task: Task, env: Record<string, string>): Spawned {
  const child = fork(CHILD, [], {
    env: { ...process.env, ...env },
    execArgv: process.execArgv, // the tsx loader the orchestrator runs under
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  live.add(child);
  let onReady: (port: number) => void = () => {};
  let onReadyFail: (error: Error) => void = () => {};
  const ready = new Promise<number>((resolve, reject) => {
    onReady = resolve;
    onReadyFail = reject;
  });
  ready.catch(() => {});
  const replies = new Inbox<unknown>();
  const iterator = replies[Symbol.asyncIterator]();
  const result = new Promise<unknown>((resolve, reject) => {
    let settled = false;
    child.on('message', (message: ChildMessage) => {
      if (message.type === 'ready') onReady(message.port);
      else if (message.type === 'reply') replies.push(message.data);
      else if (message.type === 'result') {
        settled = true;
        resolve(message.result);
      } else if (message.type === 'error') {
        settled = true;
        const error = new Error(`${task.kind} child failed: ${message.message}`);
        onReadyFail(error);
        reject(error);
      }
    });
    child.on('exit', (code, signal) => {
      live.delete(child);
      replies.end();
      if (!settled) {
        const error = new Error(`${task.kind} child exited (${signal ?? code}) without a result`);
        onReadyFail(error);
        reject(error);
      }
    });
  });
  result.catch(() => {}); // handled by whoever awaits it; never an unhandled rejection
  child.send(task);
  const nextReply = async () => {
    const next = await iterator.next();
    if (next.done) throw new Error(`${task.kind} child ended before replying`);
    return next.value;
  };
  return { child, result, ready, nextReply, command: (c) => child.send(c) };
}

export async function runTask<R>(task: Task, env: Record<string, string>): Promise<R> {
  return (await spawnTask(task, env).result) as R;
}

/** Kills every child still running (by its own pid); used on SIGINT and in `finally`. */
export function killChildren(): void {
  for (const child of live) {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  }
  live.clear();
}
