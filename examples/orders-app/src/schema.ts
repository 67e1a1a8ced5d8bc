/**
 * app.orders, with the guide's row-level security: `ownerPolicy` (owner = current_user).
 * drizzle-kit generates the migrations in ../drizzle from it (`pnpm drizzle:generate`); the
 * grants users need are `ownerPolicyGrants(orders)`, in the custom migration 0001_grants.
 */
import { ownerPolicy } from '@lakebase-kit/drizzle';
import { sql } from 'drizzle-orm';
import { check, integer, pgSchema, text, timestamp } from 'drizzle-orm/pg-core';

export const app = pgSchema('app');

export const orders = app.table(
  'orders',
  {
    id: integer().primaryKey().generatedAlwaysAsIdentity(),
    item: text().notNull(),
    quantity: integer().notNull().default(1),
    /** The Postgres role that inserted the row; RLS shows each user only their own. */
    owner: text().notNull().default(sql`current_user`),
    createdAt: timestamp('created_at', { withTimezone: true }).notNull().defaultNow(),
  },
  (t) => [check('orders_quantity_positive', sql`${t.quantity} > 0`), ownerPolicy(t.owner)],
);
