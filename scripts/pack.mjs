#!/usr/bin/env node
/**
 * Packs every published package (packages/*, except private ones) with `pnpm pack`, which
 * turns `workspace:` dependencies into real version ranges, into one directory.
 *
 *   node scripts/pack.mjs [dir]      # default: tarballs/ (git-ignored); build first
 *
 * Prints the tarballs' paths, one per line. Also `import { packAll } from './pack.mjs'`.
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

/** The published packages: `{ name, dir }` of each non-private packages/* package. */
export function publishedPackages() {
  const packagesDir = path.join(repoRoot, 'packages');
  return readdirSync(packagesDir)
    .map((entry) => path.join(packagesDir, entry))
    .map((dir) => ({
      dir,
      manifest: JSON.parse(readFileSync(path.join(dir, 'package.json'), 'utf8')),
    }))
    .filter(({ manifest }) => !manifest.private)
    .map(({ dir, manifest }) => ({ name: manifest.name, dir }));
}

/** Packs them all into `dir` (emptied first); returns `{ name, tarball }` per package. */
export function packAll(dir) {
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  return publishedPackages().map(({ name, dir: packageDir }) => {
    const before = new Set(readdirSync(dir));
    execFileSync('pnpm', ['pack', '--pack-destination', dir], {
      cwd: packageDir,
      stdio: ['ignore', 'ignore', 'inherit'],
    });
    const made = readdirSync(dir).filter((file) => file.endsWith('.tgz') && !before.has(file));
    if (made.length !== 1) throw new Error(`pnpm pack of ${name} made ${made.length} tarballs`);
    return { name, tarball: path.join(dir, made[0]) };
  });
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const dir = path.resolve(process.argv[2] ?? path.join(repoRoot, 'tarballs'));
  for (const { tarball } of packAll(dir)) console.log(tarball);
}
