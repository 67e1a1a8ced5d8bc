/**
 * A scratch directory per test file (enterable by the Postgres OS user), Postgres servers on
 * data roots inside it, and a check that no test leaves an unhandled error behind.
 */
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { afterAll, afterEach, beforeAll, expect } from 'vitest';
import type { EmbeddedPostgresRuntime } from '../../src/postgres/runtime/resolve.js';
import { PostgresServer } from '../../src/postgres/server.js';

export const isRoot = process.getuid?.() === 0;
export const SUPERUSER_PASSWORD = 'secret-for-this-test';

/** Registers the hooks; `dir()` is the scratch directory once the file's tests run. */
export function useScratch(prefix: string): { dir(): string } {
  let scratch = '';
  const unhandled: unknown[] = [];
  const record = (error: unknown) => unhandled.push(error);
  beforeAll(async () => {
    scratch = await fs.mkdtemp(path.join(os.tmpdir(), prefix));
    await fs.chmod(scratch, 0o755);
    process.on('uncaughtException', record);
    process.on('unhandledRejection', record);
  });
  afterEach(() => {
    expect(unhandled).toEqual([]);
  });
  afterAll(async () => {
    process.off('uncaughtException', record);
    process.off('unhandledRejection', record);
    await fs.rm(scratch, { recursive: true, force: true });
  });
  return { dir: () => scratch };
}

/** A directory only its owner may enter, like root's home. */
export async function privateDir(parent: string, name: string): Promise<string> {
  const dir = path.join(parent, name);
  await fs.mkdir(dir, { mode: 0o700 });
  await fs.chmod(dir, 0o700);
  return dir;
}

/** A PostgresServer on a fresh data root under `parent` (enterable by the postgres user). */
export async function scratchServer(
  parent: string,
  prefix: string,
  runtime?: EmbeddedPostgresRuntime,
) {
  const root = await fs.mkdtemp(path.join(parent, prefix));
  await fs.chmod(root, 0o755);
  const server = new PostgresServer({
    root,
    superuserPassword: SUPERUSER_PASSWORD,
    fast: true,
    log: () => undefined,
    ...(runtime ? { runtime: async () => runtime } : {}),
  });
  return { root, server };
}

/** One statement as the superuser, over the server's socket. */
export async function superuserQuery(
  server: PostgresServer,
  text: string,
  values?: unknown[],
): Promise<pg.QueryResult> {
  const client = new pg.Client(server.clientConfig('postgres'));
  await client.connect();
  try {
    return await client.query(text, values);
  } finally {
    await client.end();
  }
}
