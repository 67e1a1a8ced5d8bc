import { ownerPolicy } from '@lakebase-kit/drizzle';
import { sql } from 'drizzle-orm';
import { integer, pgSchema, text, timestamp } from 'drizzle-orm/pg-core';

/** Tables live in their own schema, created and owned by the service principal. */
export const app = pgSchema('app');

/** Each row belongs to the Postgres role that inserted it; RLS shows users only their own. */
export const notes = app.table(
  'notes',
  {
    id: integer().primaryKey().generatedAlwaysAsIdentity(),
    owner: text().notNull().default(sql`current_user`),
    body: text().notNull(),
    createdAt: timestamp('created_at', { withTimezone: true }).notNull().defaultNow(),
  },
  // The guide's policy: USING and WITH CHECK (owner = current_user), RLS on (drizzle-kit
  // generates both); users also need ownerPolicyGrants(notes), see drizzle/0001_grants.sql.
  (t) => [ownerPolicy(t.owner)],
);
