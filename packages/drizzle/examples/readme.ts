import { fileURLToPath } from 'node:url';
import { lakebaseDrizzle, migrate } from '@lakebase-kit/drizzle';
import { desc, sql } from 'drizzle-orm';
import * as schema from './schema.js';

// Configured from the environment Databricks Apps sets for a Lakebase resource
// (DATABRICKS_HOST, DATABRICKS_CLIENT_ID/SECRET, LAKEBASE_ENDPOINT, PGHOST, PGDATABASE, ...).
export const db = lakebaseDrizzle({ schema });

// On start, as the service principal: it owns the schema it creates. Safe on every start,
// and safe when two instances start at once.
await migrate(db, { migrationsFolder: fileURLToPath(new URL('./drizzle', import.meta.url)) });

// In a request handler (Express/Node request, Fetch Request or a headers object):
// every query and transaction runs as the signed-in user, so RLS shows them their rows only.
export async function addNote(req: Request, body: string) {
  const [note] = await db.asUser(req).insert(schema.notes).values({ body }).returning();
  return note;
}

export async function myNotes(req: Request) {
  return db.asUser(req).query.notes.findMany({ orderBy: desc(schema.notes.id) });
}

// Background jobs run as the service principal, which owns the table and sees every row.
export async function countAllNotes() {
  const [row] = await db.select({ n: sql<number>`count(*)::int` }).from(schema.notes);
  return row?.n ?? 0;
}

// On shutdown:
export const shutdown = () => db.$close();
