/** Drizzle's view of app.orders (the table is created by the SQL migrations in ../drizzle). */
import { sql } from 'drizzle-orm';
import { integer, pgSchema, text, timestamp } from 'drizzle-orm/pg-core';

export const app = pgSchema('app');

export const orders = app.table('orders', {
  id: integer().primaryKey().generatedAlwaysAsIdentity(),
  item: text().notNull(),
  quantity: integer().notNull().default(1),
  /** The Postgres role that inserted the row; RLS shows each user only their own. */
  owner: text().notNull().default(sql`current_user`),
  createdAt: timestamp('created_at', { withTimezone: true }).notNull().defaultNow(),
});
