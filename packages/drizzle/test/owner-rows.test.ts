/**
 * ownerPolicy and ownerPolicyGrants: what drizzle-kit generates from them (offline), and that
 * the example's grants migration is ownerPolicyGrants' output (readme.test.ts shows on the
 * local Lakebase that users then see only their own rows).
 */
import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { sql } from 'drizzle-orm';
import { getTableConfig, pgRole, pgSchema, serial, text } from 'drizzle-orm/pg-core';
import { describe, expect, it } from 'vitest';
import { notes } from '../examples/schema.js';
import { ownerPolicy, ownerPolicyGrants } from '../src/index.js';

const run = promisify(execFile);
const packageDir = fileURLToPath(new URL('..', import.meta.url));
const drizzleKit = join(packageDir, 'node_modules', '.bin', 'drizzle-kit');

const shop = pgSchema('shop');
const items = shop.table(
  'items',
  { id: serial().primaryKey(), owner: text().notNull().default(sql`current_user`) },
  (t) => [
    ownerPolicy(t.owner, { for: 'select', to: pgRole('readers') }),
    ownerPolicy(t.owner, { name: 'items_insert', for: 'insert' }),
  ],
);

describe('ownerPolicy', () => {
  it('is the guide’s policy: FOR ALL TO public USING and WITH CHECK owner = current_user', () => {
    const [policy] = getTableConfig(notes).policies;
    expect(policy).toMatchObject({
      name: 'notes_owner',
      as: 'permissive',
      for: 'all',
      to: 'public',
    });
    expect(policy!.using).toBeDefined();
    expect(policy!.withCheck).toBeDefined();
  });

  it('leaves out the clause a command does not take (USING for INSERT, WITH CHECK for SELECT)', () => {
    const [select, insert] = getTableConfig(items).policies;
    expect(select).toMatchObject({ name: 'items_owner', for: 'select', withCheck: undefined });
    expect(select!.using).toBeDefined();
    expect(insert).toMatchObject({ name: 'items_insert', for: 'insert', using: undefined });
  });

  it('drizzle-kit has nothing to add to the example’s migrations (policy and RLS included)', async () => {
    const { stdout, stderr } = await run(
      drizzleKit,
      ['generate', '--config', 'examples/drizzle.config.ts'],
      {
        cwd: packageDir,
      },
    );
    expect(`${stdout}${stderr}`).toContain('No schema changes, nothing to migrate');
    const init = readFileSync(join(packageDir, 'examples/drizzle/0000_init.sql'), 'utf8');
    expect(init).toContain('ALTER TABLE "app"."notes" ENABLE ROW LEVEL SECURITY');
    expect(init).toContain(
      'CREATE POLICY "notes_owner" ON "app"."notes" AS PERMISSIVE FOR ALL TO public USING ("app"."notes"."owner" = current_user) WITH CHECK ("app"."notes"."owner" = current_user);',
    );
  });
});

describe('ownerPolicyGrants', () => {
  it('the example’s custom migration is its output', () => {
    const grants = readFileSync(join(packageDir, 'examples/drizzle/0001_grants.sql'), 'utf8');
    expect(
      grants.endsWith(
        ownerPolicyGrants(notes, { privileges: ['SELECT', 'INSERT', 'UPDATE', 'DELETE'] }),
      ),
    ).toBe(true);
  });

  it('USAGE on each schema once, the privileges, USAGE on serial sequences; to PUBLIC or roles', () => {
    expect(ownerPolicyGrants([items, notes])).toBe(
      [
        'GRANT USAGE ON SCHEMA "shop" TO PUBLIC;--> statement-breakpoint',
        'GRANT SELECT, INSERT ON "shop"."items" TO PUBLIC;--> statement-breakpoint',
        'GRANT USAGE ON SEQUENCE "shop"."items_id_seq" TO PUBLIC;--> statement-breakpoint',
        'GRANT USAGE ON SCHEMA "app" TO PUBLIC;--> statement-breakpoint',
        'GRANT SELECT, INSERT ON "app"."notes" TO PUBLIC;\n',
      ].join('\n'),
    );
    expect(
      ownerPolicyGrants(items, { privileges: ['SELECT'], to: [pgRole('readers'), 'a@b.c'] }),
    ).toBe(
      'GRANT USAGE ON SCHEMA "shop" TO "readers", "a@b.c";--> statement-breakpoint\nGRANT SELECT ON "shop"."items" TO "readers", "a@b.c";\n',
    );
  });
});
