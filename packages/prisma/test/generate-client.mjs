// Generates the test PrismaClient into test/generated (git-ignored) so a clean clone works;
// used by the vitest global setup and by `typecheck`. Offline, `prisma generate` would try to
// download a schema engine unless PRISMA_SCHEMA_ENGINE_BINARY points at an existing file;
// generate itself never runs it.
import { execFileSync } from 'node:child_process';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

export function generateTestClient() {
  const here = dirname(fileURLToPath(import.meta.url));
  const require = createRequire(import.meta.url);
  const prismaCli = join(dirname(require.resolve('prisma/package.json')), 'build', 'index.js');
  execFileSync(process.execPath, [prismaCli, 'generate', '--schema', join(here, 'schema.prisma')], {
    cwd: join(here, '..'),
    env: {
      ...process.env,
      PRISMA_SCHEMA_ENGINE_BINARY: process.env.PRISMA_SCHEMA_ENGINE_BINARY ?? process.execPath,
      PRISMA_HIDE_UPDATE_MESSAGE: '1',
      CHECKPOINT_DISABLE: '1',
    },
    stdio: ['ignore', 'ignore', 'inherit'],
  });
}

if (process.argv[1] === fileURLToPath(import.meta.url)) generateTestClient();
