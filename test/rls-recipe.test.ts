/**
 * docs/rls.md, the one RLS and grants recipe: its SQL block, run verbatim as the service
 * principal on a local Lakebase, gives what its table promises; every doc that sets up RLS
 * links it, and no doc sets up another policy or grants users something else.
 */
import { readdirSync, statSync } from 'node:fs';
import path from 'node:path';
import { createLakebase, type Lakebase } from '@lakebase-kit/core';
import { runDoctor } from '@lakebase-kit/core/admin';
import { type LocalLakebase, startLocalLakebase } from '@lakebase-kit/local';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
// @ts-expect-error: a plain .mjs script of the repository, without types
import { repoRoot } from '../scripts/pack.mjs';
import { blockAfter, readText } from './readme-blocks.js';

const ALICE = 'alice@example.com';
const BOB = 'bob@example.com';
const recipe = blockAfter(readText(path.join(repoRoot, 'docs', 'rls.md')), 'rls-recipe');

let lb: LocalLakebase;
let lakebase: Lakebase;

beforeAll(async () => {
  lb = await startLocalLakebase({ users: [ALICE, BOB] });
  lakebase = createLakebase({
    ...{ endpoint: lb.env.LAKEBASE_ENDPOINT, host: lb.env.PGHOST, database: lb.env.PGDATABASE },
    port: Number(lb.env.PGPORT),
    user: lb.env.PGUSER,
    sslRootCert: lb.env.PGSSLROOTCERT,
    env: lb.env,
    telemetry: false,
    logger: { error: false },
  });
});
afterAll(async () => {
  await lakebase?.close();
  await lb?.stop();
});

const as = async (email: string) => lakebase.asUser(await lb.userHeaders(email));
const refusal = (promise: Promise<unknown>) =>
  promise.then(
    () => undefined,
    (error: { code?: string }) => error.code,
  );

describe('docs/rls.md', () => {
  it('its SQL, run as the SP, keeps each user to their own rows; the SP sees all', async () => {
    expect(recipe).toBeDefined();
    await lakebase.query(recipe!);

    const alice = await as(ALICE);
    const bob = await as(BOB);
    await alice.query(`insert into app.notes (body) values ('from alice')`);
    await bob.query(`insert into app.notes (body) values ('from bob')`);
    expect((await alice.query('select owner, body from app.notes')).rows).toEqual([
      { owner: ALICE, body: 'from alice' },
    ]);
    expect((await bob.query('select owner from app.notes')).rows).toEqual([{ owner: BOB }]);
    const all = await lakebase.query('select owner from app.notes order by id');
    expect(all.rows.map((row) => row.owner)).toEqual([ALICE, BOB]);

    // WITH CHECK: no row for someone else; no CREATE in the SP's schema; no UPDATE granted
    expect(
      await refusal(alice.query(`insert into app.notes (owner, body) values ($1, 'x')`, [BOB])),
    ).toBe('42501');
    expect(await refusal(alice.query('create table app.mine (v int)'))).toBe('42501');
    expect(await refusal(alice.query(`update app.notes set body = 'changed'`))).toBe('42501');

    // the SP owns schema and table; the users are plain roles
    expect(
      await lb.sql(
        `select tableowner from pg_tables where schemaname = 'app' and tablename = 'notes'`,
      ),
    ).toEqual([{ tableowner: lb.env.PGUSER }]);
  });

  it('lakebase-kit doctor finds nothing to fix in it', async () => {
    const report = await runDoctor({
      db: lakebase,
      identities: [ALICE, BOB],
      schemas: ['app'],
      mint: false,
      env: lb.env,
      config: { sslRootCert: lb.env.PGSSLROOTCERT },
    });
    const problems = report.checks.filter((check) => check.status !== 'ok');
    expect(problems).toEqual([]);
  });

  it('is the only recipe: the docs that set up RLS link it, and none sets up another', () => {
    const linking = [
      'docs/deploy.md',
      'packages/core/README.md',
      'packages/drizzle/README.md',
      'packages/kysely/README.md',
      'packages/prisma/README.md',
      'examples/orders-app/README.md',
      'README.md',
    ];
    for (const file of linking) {
      expect(readText(path.join(repoRoot, file)), file).toMatch(/rls\.md/);
    }
    const skip = new Set(['node_modules', 'dist', '.git', '.turbo', 'build', 'bench', 'appkit']);
    const markdown = (dir: string): string[] =>
      readdirSync(dir).flatMap((entry) => {
        if (skip.has(entry)) return [];
        const file = path.join(dir, entry);
        if (statSync(file).isDirectory()) return markdown(file);
        return entry.endsWith('.md') ? [file] : [];
      });
    for (const file of markdown(repoRoot)) {
      const text = readText(file);
      const name = path.relative(repoRoot, file);
      // every policy written out is the recipe's: for all users, owner = current_user both ways
      for (const policy of text.matchAll(/create policy \S+ on [^;`]*/gi)) {
        expect(policy[0].replace(/\s+/g, ' '), name).toMatch(
          /for all to public using \(owner = current_user\) with check \(owner = current_user\)/i,
        );
      }
      // users are granted to PUBLIC (the policy narrows it), never ALL on the app's schema
      for (const grant of text.matchAll(/grant (?:usage|select)[^;`'\n]* to ("[^"]+"|\w+)/gi)) {
        expect(grant[1]!.toLowerCase(), `${name}: ${grant[0]}`).toBe('public');
      }
    }
  });
});
