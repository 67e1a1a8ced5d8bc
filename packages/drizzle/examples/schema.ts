import { sql } from 'drizzle-orm';
import { integer, pgPolicy, pgSchema, text, timestamp } from 'drizzle-orm/pg-core';

/** Tables live in their own schema, created and owned by the service principal. */
export const app = pgSchema('app');

/** Each row belongs to the Postgres role that inserted it; RLS shows users only their own. */
export const notes = app
  .table(
    'notes',
    {
      id: integer().primaryKey().generatedAlwaysAsIdentity(),
      owner: text().notNull().default(sql`current_user`),
      body: text().notNull(),
      createdAt: timestamp('created_at', { withTimezone: true }).notNull().defaultNow(),
    },
    (t) => [
      pgPolicy('notes_owner', {
        for: 'all',
        to: 'public',
        using: sql`${t.owner} = current_user`,
        withCheck: sql`${t.owner} = current_user`,
      }),
    ],
  )
  .enableRLS();
