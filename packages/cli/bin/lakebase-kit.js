#!/usr/bin/env -S node --
// The `lakebase-kit` command. The `--` after `node` ends Node's own options: without it,
// Node 20 reads `--env-file <file>` anywhere on the command line as its own flag (and exits
// when the file does not exist yet), so `lakebase-kit dev --env-file new.env` never ran.
// Package managers copy this line into their launchers (npm and pnpm understand `env -S`).
import('../dist/bin.js').catch((error) => {
  if (error?.code === 'ERR_MODULE_NOT_FOUND' && String(error.message).includes('dist/bin.js')) {
    process.stderr.write('lakebase-kit is not built yet: run `pnpm build` in its repository.\n');
    process.exit(1);
  }
  throw error;
});
