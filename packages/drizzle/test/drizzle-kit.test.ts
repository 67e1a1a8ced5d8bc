import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import type { LocalLakebase } from '@lakebase-kit/local';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as schema from '../examples/schema.js';
import { lakebaseDrizzle, migrate } from '../src/index.js';
import { startWorld, stopWorld, TOKEN_PATTERN } from './world.js';

const run = promisify(execFile);
const packageDir = fileURLToPath(new URL('..', import.meta.url));
const require = createRequire(import.meta.url);
const cliPackage = require.resolve('@lakebase-kit/cli/package.json');
const cliBin = join(
  dirname(cliPackage),
  (JSON.parse(readFileSync(cliPackage, 'utf8')) as { bin: Record<string, string> }).bin[
    'lakebase-kit'
  ]!,
);
const drizzleKit = join(packageDir, 'node_modules', '.bin', 'drizzle-kit');

let lb: LocalLakebase;

beforeAll(async () => {
  lb = await startWorld();
});

afterAll(async () => {
  await stopWorld(lb);
});

describe('drizzle-kit through lakebase-kit exec', () => {
  it('`lakebase-kit exec -- drizzle-kit migrate` applies the migrations with a fresh token', async () => {
    // The SP's credentials are in the environment, as for the deployed app: it owns the tables.
    const { stdout, stderr } = await run(
      process.execPath,
      [cliBin, 'exec', '--', drizzleKit, 'migrate', '--config', 'examples/drizzle.config.ts'],
      { cwd: packageDir, env: process.env },
    );
    expect(stdout).toContain('migrations applied successfully');
    expect(`${stdout}${stderr}`).not.toMatch(TOKEN_PATTERN);

    const tables = await lb.sql(
      "select schemaname, tablename, tableowner from pg_tables where schemaname in ('app', 'drizzle') order by 1",
    );
    expect(tables).toEqual([
      { schemaname: 'app', tablename: 'notes', tableowner: lb.env.PGUSER },
      { schemaname: 'drizzle', tablename: '__drizzle_migrations', tableowner: lb.env.PGUSER },
    ]);
  });

  it('the app’s migrate() shares drizzle-kit’s journal: nothing left to apply', async () => {
    const before = await lb.sql('select count(*)::int as n from drizzle.__drizzle_migrations');
    const db = lakebaseDrizzle({ schema });
    try {
      await migrate(db, { migrationsFolder: join(packageDir, 'examples', 'drizzle') });
    } finally {
      await db.$close();
    }
    expect(await lb.sql('select count(*)::int as n from drizzle.__drizzle_migrations')).toEqual(
      before,
    );
    expect(before).toEqual([{ n: 2 }]);
  });
});
