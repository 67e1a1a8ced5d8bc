/** Orders through Drizzle: `db` runs as the service principal, `db.asUser(req)` as the user. */
import type { Lakebase } from '@lakebase-kit/core';
import { lakebaseDrizzle } from '@lakebase-kit/drizzle';
import { asc, sql } from 'drizzle-orm';
import { orders } from '../schema.js';
import { type OrdersRepo, toOrder } from './types.js';

export function drizzleRepo(lakebase: Lakebase): OrdersRepo {
  const db = lakebaseDrizzle({ schema: { orders }, lakebase });
  return {
    orm: 'drizzle',
    allOrders: async () => (await db.select().from(orders).orderBy(asc(orders.id))).map(toOrder),
    myOrders: async (req) =>
      (await db.asUser(req).select().from(orders).orderBy(asc(orders.id))).map(toOrder),
    addMyOrder: async (req, order) => {
      const [row] = await db.asUser(req).insert(orders).values(order).returning();
      return toOrder(row!);
    },
    whoami: async (req) => {
      const result = await db.asUser(req).execute<{ me: string }>(sql`select current_user as me`);
      return result.rows[0]!.me;
    },
    close: () => db.$close(),
  };
}
