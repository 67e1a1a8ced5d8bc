#!/usr/bin/env node
/**
 * Writes an example app as Databricks Apps can install it: `npm install` there cannot resolve
 * the workspace's `workspace:*` dependencies, so the packages go along as tarballs.
 *
 *   pnpm app:prepare orders-app      # = pnpm build && node scripts/prepare-app.mjs orders-app
 *
 * Output: examples/<app>/build/app/ (git-ignored; databricks.yml's source_code_path) with the
 * app's files, its app.yaml, vendor/*.tgz, and a package.json whose `workspace:` dependencies
 * are `file:vendor/<tarball>` (overrides pin the packages' own dependencies on each other).
 */
import { execFileSync } from 'node:child_process';
import { cpSync, existsSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { packAll, repoRoot } from './pack.mjs';

/** Top-level entries of an example that a deployment does not need. */
const LEFT_OUT = new Set([
  'node_modules',
  'build',
  'test',
  'databricks.yml',
  'vitest.config.ts',
  '.turbo',
  '.gitignore',
]);

function readJson(file) {
  return JSON.parse(readFileSync(file, 'utf8'));
}

/** The workspace packages by name → directory. */
function workspacePackages() {
  const found = new Map();
  for (const group of ['packages', 'examples']) {
    for (const entry of readdirSync(path.join(repoRoot, group))) {
      const dir = path.join(repoRoot, group, entry);
      if (existsSync(path.join(dir, 'package.json')))
        found.set(readJson(path.join(dir, 'package.json')).name, dir);
    }
  }
  return found;
}

/** Prepares `examples/<name>` in `outDir` (default its build/app); returns outDir. */
export function prepareApp(name, outDir) {
  const appDir = path.join(repoRoot, 'examples', name);
  if (!existsSync(path.join(appDir, 'app.yaml'))) {
    throw new Error(`examples/${name} is not a Databricks app (no app.yaml)`);
  }
  const target = path.resolve(outDir ?? path.join(appDir, 'build', 'app'));
  rmSync(target, { recursive: true, force: true });
  const vendor = path.join(target, 'vendor');
  const tarballs = new Map(packAll(vendor).map(({ name: pkg, tarball }) => [pkg, tarball]));

  // Private workspace packages it depends on (the AppKit app reuses the orders app's code).
  const manifest = readJson(path.join(appDir, 'package.json'));
  const workspace = workspacePackages();
  for (const [dep, range] of Object.entries(manifest.dependencies ?? {})) {
    if (!String(range).startsWith('workspace:') || tarballs.has(dep)) continue;
    const before = new Set(readdirSync(vendor));
    execFileSync('pnpm', ['pack', '--pack-destination', vendor], {
      cwd: workspace.get(dep),
      stdio: ['ignore', 'ignore', 'inherit'],
    });
    const made = readdirSync(vendor).find((file) => !before.has(file));
    tarballs.set(dep, path.join(vendor, made));
  }
  const fileSpec = (pkg) => `file:vendor/${path.basename(tarballs.get(pkg))}`;

  for (const entry of readdirSync(appDir)) {
    if (LEFT_OUT.has(entry)) continue;
    cpSync(path.join(appDir, entry), path.join(target, entry), {
      recursive: true,
      // The generated Prisma client is rebuilt there on demand (ORM=prisma).
      filter: (source) => !path.relative(appDir, source).split(path.sep).includes('generated'),
    });
  }

  const dependencies = Object.fromEntries(
    Object.entries(manifest.dependencies ?? {}).map(([dep, range]) =>
      String(range).startsWith('workspace:') ? [dep, fileSpec(dep)] : [dep, range],
    ),
  );
  const deployed = {
    name: manifest.name.replace(/^@[^/]+\//, ''),
    version: manifest.version,
    private: true,
    description: manifest.description,
    type: manifest.type,
    engines: manifest.engines,
    scripts: Object.fromEntries(
      Object.entries(manifest.scripts ?? {}).filter(
        ([script]) => !['test', 'typecheck'].includes(script),
      ),
    ),
    dependencies,
    // The packages depend on each other by version: the tarballs stand in for the registry.
    overrides: Object.fromEntries([...tarballs.keys()].map((pkg) => [pkg, fileSpec(pkg)])),
  };
  writeFileSync(path.join(target, 'package.json'), `${JSON.stringify(deployed, null, 2)}\n`);
  return target;
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const [name, outDir] = process.argv.slice(2);
  if (!name) {
    console.error('Usage: pnpm app:prepare <orders-app|appkit-app> [out dir]');
    process.exit(2);
  }
  const target = prepareApp(name, outDir);
  console.log(`Prepared ${path.relative(process.cwd(), target) || target}: deploy it with`);
  console.log(
    `  cd examples/${name} && databricks bundle deploy && databricks bundle run <app key>`,
  );
}
