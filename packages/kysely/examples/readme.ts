import { fileURLToPath } from 'node:url';
import { lakebaseKysely, migrate } from '@lakebase-kit/kysely';
import type { DB } from './db.js';

// Configured from the environment Databricks Apps sets for a Lakebase resource
// (DATABRICKS_HOST, DATABRICKS_CLIENT_ID/SECRET, LAKEBASE_ENDPOINT, PGHOST, PGDATABASE, ...).
const db = lakebaseKysely<DB>();
export const { kysely, asUser, destroy } = db;

// On start, as the service principal: it owns the tables the migrations create. Kysely's own
// Migrator (kysely 0.28 and 0.29), on the direct host (its lock is a session advisory lock,
// which Lakebase's pooled host does not keep), its bookkeeping tables in schema `kysely`: on
// Lakebase the SP may create schemas but not tables in `public` (the project owner's).
await migrate(db, { migrationFolder: fileURLToPath(new URL('./migrations', import.meta.url)) });

// In a request handler (Express/Node request, Fetch Request or a headers object):
// every query runs as the signed-in user, so RLS shows them their own rows only.
export async function addNote(req: Request, body: string) {
  return asUser(req)
    .insertInto('app.notes')
    .values({ body })
    .returningAll()
    .executeTakeFirstOrThrow();
}

export async function myNotes(req: Request) {
  return asUser(req).selectFrom('app.notes').selectAll().orderBy('id').execute();
}

// Transactions run on one of the user's connections.
export async function retag(req: Request, from: string, to: string) {
  return asUser(req)
    .transaction()
    .execute(async (trx) => {
      const moved = await trx
        .updateTable('app.notes')
        .set({ tag: to })
        .where('tag', '=', from)
        .executeTakeFirst();
      return Number(moved.numUpdatedRows);
    });
}

// Jobs run as the service principal (the table owner sees every row); stream big results.
export async function exportAll(write: (line: string) => void) {
  for await (const note of kysely.selectFrom('app.notes').selectAll().stream(500)) {
    write(`${note.owner}\t${note.body}`);
  }
}

// On shutdown: closes the pools this created.
export const shutdown = destroy;
