/**
 * Generates the Prisma client (src/generated/prisma, git-ignored) when it is missing or its
 * schema changed. Runs on demand: when the app starts with ORM=prisma, in the test setup and
 * before `tsc`. `pnpm prisma:generate` runs it by hand.
 *
 * Offline, `prisma generate` would try to download a schema engine unless
 * PRISMA_SCHEMA_ENGINE_BINARY points at an existing file; generate itself never runs it.
 */
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const schemaPath = join(root, 'prisma', 'schema.prisma');
const outputDir = join(root, 'src', 'generated', 'prisma');
const stampPath = join(outputDir, '.schema-hash');

function prismaCli(): { path: string; version: string } {
  const require = createRequire(import.meta.url);
  const packageJson = require.resolve('prisma/package.json');
  const { version } = JSON.parse(readFileSync(packageJson, 'utf8')) as { version: string };
  return { path: join(dirname(packageJson), 'build', 'index.js'), version };
}

/** Generates the client unless an up-to-date one exists; returns whether it generated. */
export function ensurePrismaClient(): boolean {
  const cli = prismaCli();
  const hash = createHash('sha256')
    .update(cli.version)
    .update(readFileSync(schemaPath))
    .digest('hex');
  if (existsSync(stampPath) && readFileSync(stampPath, 'utf8') === hash) return false;
  execFileSync(process.execPath, [cli.path, 'generate', '--schema', schemaPath], {
    cwd: root,
    env: {
      ...process.env,
      PRISMA_SCHEMA_ENGINE_BINARY: process.env.PRISMA_SCHEMA_ENGINE_BINARY ?? process.execPath,
      PRISMA_HIDE_UPDATE_MESSAGE: '1',
      CHECKPOINT_DISABLE: '1',
    },
    stdio: ['ignore', 'ignore', 'inherit'],
  });
  writeFileSync(stampPath, hash);
  return true;
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  console.log(ensurePrismaClient() ? 'Prisma client generated.' : 'Prisma client is up to date.');
}
