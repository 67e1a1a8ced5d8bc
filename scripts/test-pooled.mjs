#!/usr/bin/env node
/**
 * `pnpm test:pooled`: the suites that touch set-role, migrations and the ORMs, again with every
 * local Lakebase's apps on its pooled host (`LAKEBASE_LOCAL_POOLER=1`: Debian's PgBouncer in
 * transaction mode, `apt-get install pgbouncer`). Needs the packages built (`pnpm test` builds
 * them). One line per suite, then the exit code of the first that failed.
 */
import { spawn } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

/** Package folder and the test files of it that run pooled (all of them when empty). */
export const POOLED_SUITES = [
  [
    'packages/core',
    ['test/obo/set-role.test.ts', 'test/obo/isolation.test.ts', 'test/obo/rls.test.ts'],
  ],
  ['packages/drizzle', []],
  ['packages/kysely', []],
  ['packages/prisma', []],
];

function run(cwd, files) {
  return new Promise((resolve) => {
    const child = spawn('npx', ['vitest', 'run', ...files], {
      cwd: path.join(root, cwd),
      stdio: 'inherit',
      env: { ...process.env, LAKEBASE_LOCAL_POOLER: '1' },
    });
    child.once('error', () => resolve(127));
    child.once('exit', (code, signal) => resolve(code ?? (signal ? 1 : 0)));
  });
}

let failed = 0;
for (const [cwd, files] of POOLED_SUITES) {
  process.stdout.write(`\ntest:pooled: ${cwd} on the pooled host\n`);
  const code = await run(cwd, files);
  if (code !== 0 && failed === 0) failed = code;
}
process.exit(failed);
