import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { createLakebase, type Lakebase } from '@lakebase-kit/core';
import type { LocalLakebase } from '@lakebase-kit/local';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as schema from '../examples/schema.js';
import { lakebaseDrizzle, migrate } from '../src/index.js';
import { startWorld, stopWorld } from './world.js';

const migrationsFolder = fileURLToPath(new URL('../examples/drizzle', import.meta.url));
const journal = JSON.parse(readFileSync(`${migrationsFolder}/meta/_journal.json`, 'utf8')) as {
  entries: { tag: string }[];
};

let lb: LocalLakebase;
const instances: Lakebase[] = [];

beforeAll(async () => {
  lb = await startWorld();
  // Two app instances starting at once: two Lakebase objects, two SP pools.
  instances.push(createLakebase(), createLakebase());
});

afterAll(async () => {
  await Promise.all(instances.map((i) => i.close()));
  await stopWorld(lb);
});

const applied = async () =>
  (await lb.sql('select hash, created_at from drizzle.__drizzle_migrations order by id')) as {
    hash: string;
  }[];

describe('migrate', () => {
  it('two concurrent runs apply each migration exactly once', async () => {
    const [one, two] = instances.map((lakebase) => lakebaseDrizzle({ lakebase, schema }));
    await Promise.all([
      migrate(one!, { migrationsFolder }),
      migrate(two!, { migrationsFolder }),
      migrate(instances[0]!, { migrationsFolder }),
    ]);
    const rows = await applied();
    expect(rows).toHaveLength(journal.entries.length);
    expect(new Set(rows.map((r) => r.hash)).size).toBe(journal.entries.length);
  });

  it('is idempotent: running again applies nothing', async () => {
    const db = lakebaseDrizzle({ lakebase: instances[1]!, schema });
    await migrate(db, { migrationsFolder });
    await migrate(db, { migrationsFolder });
    expect(await applied()).toHaveLength(journal.entries.length);
    const policies = await lb.sql(
      "select policyname from pg_policies where schemaname = 'app' and tablename = 'notes'",
    );
    expect(policies).toEqual([{ policyname: 'notes_owner' }]);
  });

  it('runs as the service principal: the SP owns the schema, the tables and the journal', async () => {
    const sp = lb.env.PGUSER;
    const tables = await lb.sql(
      "select schemaname, tablename, tableowner from pg_tables where schemaname in ('app', 'drizzle') order by 1",
    );
    expect(tables).toEqual([
      { schemaname: 'app', tablename: 'notes', tableowner: sp },
      { schemaname: 'drizzle', tablename: '__drizzle_migrations', tableowner: sp },
    ]);
    const schemas = await lb.sql(
      "select nspname, pg_get_userbyid(nspowner) as owner from pg_namespace where nspname = 'app'",
    );
    expect(schemas).toEqual([{ nspname: 'app', owner: sp }]);
  });

  it('releases the advisory lock and returns its connection', async () => {
    const locks = await lb.sql(
      "select count(*)::int as n from pg_locks where locktype = 'advisory'",
    );
    expect(locks).toEqual([{ n: 0 }]);
    expect(instances[0]!.pool.waitingCount).toBe(0);
    expect(instances[0]!.pool.totalCount).toBe(instances[0]!.pool.idleCount);
  });

  it('a failing migration leaves the lock free and the journal unchanged', async () => {
    const bad = fileURLToPath(new URL('./fixtures/bad-migrations', import.meta.url));
    const db = lakebaseDrizzle({ lakebase: instances[0]!, schema });
    await expect(
      migrate(db, { migrationsFolder: bad, migrationsTable: 'bad_migrations' }),
    ).rejects.toThrow();
    const locks = await lb.sql(
      "select count(*)::int as n from pg_locks where locktype = 'advisory'",
    );
    expect(locks).toEqual([{ n: 0 }]);
    const rows = await lb.sql('select count(*)::int as n from drizzle.bad_migrations');
    expect(rows).toEqual([{ n: 0 }]);
    const created = await lb.sql("select to_regclass('app.never_created')::text as t");
    expect(created).toEqual([{ t: null }]);
  });
});
