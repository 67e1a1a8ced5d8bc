#!/usr/bin/env node
// node-postgres' own pg-pool test suite, run against `createLakebasePool` on a local Lakebase.
//
//   node scripts/pg-pool-suite.mjs <node-postgres git dir or checkout> [mocha args...]
//
// The tests are not in pg-pool's npm tarball, so they come from a node-postgres clone (a bare
// one is fine), at the tag of the pg-pool version that core's pg uses. Their `require('../')`
// (pg-pool itself) is swapped for a shim whose `new Pool(options)` is
// `createLakebasePool(options)`; everything else (`pg`, `pg-cursor`) is core's own copy. Run
// `pnpm build` first. Not part of `pnpm test`: CI has no GitHub access to fetch the tests.
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import {
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  realpathSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const [source, ...mochaArgs] = process.argv.slice(2);
if (!source) {
  console.error(
    'usage: node scripts/pg-pool-suite.mjs <node-postgres git dir or checkout> [mocha args...]',
  );
  process.exit(2);
}

const pgDir = join(root, 'packages/core/node_modules/pg');
const pgRequire = createRequire(join(realpathSync(pgDir), 'package.json'));
// (pg-pool's exports don't list its package.json: walk up from its entry point)
const poolEntry = pgRequire.resolve('pg-pool');
const poolVersion = JSON.parse(
  readFileSync(join(dirname(poolEntry), 'package.json'), 'utf8'),
).version;
const cursorDir = join(root, 'packages/core/node_modules/pg-cursor');
const tag = `pg-pool@${poolVersion}`;

const work = mkdtempSync(join(tmpdir(), 'pg-pool-suite-'));
const suite = join(work, 'packages/pg-pool');
let lb;
try {
  // the tests of that version, from the clone
  const git = [
    '--git-dir',
    existsGitDir(source),
    'archive',
    '--format=tar',
    tag,
    'packages/pg-pool',
  ];
  const tar = execFileSync('git', git, { maxBuffer: 64 << 20 });
  execFileSync('tar', ['-x', '-C', work], { input: tar });
  // its test tools from the npm registry, at the versions its package.json names
  const dev = JSON.parse(readFileSync(join(suite, 'package.json'), 'utf8')).devDependencies;
  writeFileSync(
    join(suite, 'package.json'),
    JSON.stringify({ name: 'pg-pool-suite', private: true }),
  );
  const tools = Object.entries(dev).map(([name, range]) => `${name}@${range}`);
  execFileSync('npm', ['install', '--no-audit', '--no-fund', '--silent', ...tools], {
    cwd: suite,
    stdio: 'inherit',
  });
  // core's pg and pg-cursor, and the shim in place of pg-pool
  for (const [name, dir] of [
    ['pg', pgDir],
    ['pg-cursor', cursorDir],
  ]) {
    symlinkSync(realpathSync(dir), join(suite, 'node_modules', name), 'dir');
  }
  const core = join(root, 'packages/core/dist/index.cjs');
  writeFileSync(
    join(suite, 'index.js'),
    [
      `'use strict'`,
      `const { createLakebasePool } = require(${JSON.stringify(core)})`,
      `// pg-pool's \`new Pool(options)\`: a constructor that returns our pool`,
      `module.exports = function Pool(options) { return createLakebasePool(options) }`,
      '',
    ].join('\n'),
  );
  mkdirSync(join(suite, 'esm'), { recursive: true });

  const { startLocalLakebase } = await import(join(root, 'packages/local/dist/index.js'));
  // the suite tests pool semantics; plaintext keeps its raw `pg.Client` tests on the same server
  lb = await startLocalLakebase({ tls: false });
  // one mocha per test file: the suite's setup.js exits the process on an unhandled rejection
  // (an assertion that fails inside a callback), which would end the whole run at the first
  const mocha = join(suite, 'node_modules/.bin/mocha');
  const files = readdirSync(join(suite, 'test')).filter(
    (f) => f.endsWith('.js') && f !== 'setup.js',
  );
  const totals = { passing: 0, pending: 0, failing: 0, crashed: [] };
  for (const file of files.sort()) {
    // (asynchronously: the local Lakebase's proxy and workspace API live in this process)
    const out = await output(
      mocha,
      [
        '--exit',
        '--timeout',
        '10000',
        '--reporter',
        'spec',
        'test/setup.js',
        `test/${file}`,
        ...mochaArgs,
      ],
      { cwd: suite, env: { ...process.env, ...lb.env } },
    );
    process.stdout.write(`\n## ${file}\n${out}`);
    const count = (word) => Number(out.match(new RegExp(`(\\d+) ${word}`))?.[1] ?? 0);
    totals.passing += count('passing');
    totals.pending += count('pending');
    totals.failing += count('failing');
    if (!/\d+ passing/.test(out)) totals.crashed.push(file);
  }
  const crashed = totals.crashed.length ? `, ended early: ${totals.crashed.join(', ')}` : '';
  console.log(
    `\npg-pool ${poolVersion} suite on createLakebasePool: ${totals.passing} passing, ` +
      `${totals.pending} pending, ${totals.failing} failing${crashed}`,
  );
  process.exitCode = totals.failing || totals.crashed.length ? 1 : 0;
} finally {
  await lb?.stop();
  rmSync(work, { recursive: true, force: true });
}

/** A child's stdout and stderr, once it has exited. */
function output(command, args, options) {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { ...options, stdio: ['ignore', 'pipe', 'pipe'] });
    let text = '';
    child.stdout.on('data', (chunk) => (text += chunk));
    child.stderr.on('data', (chunk) => (text += chunk));
    child.on('error', reject);
    child.on('close', () => resolve(text));
  });
}

function existsGitDir(path) {
  const bare = spawnSync('git', ['--git-dir', path, 'rev-parse', '--git-dir']);
  if (bare.status === 0) return path;
  return join(path, '.git');
}
