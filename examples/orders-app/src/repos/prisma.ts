/**
 * Orders through Prisma: `db.prisma` runs as the service principal, `db.asUser(req)` as the
 * user. Imports the generated client, so load this file only after `ensurePrismaClient()`
 * (see ./index.ts).
 */
import type { Lakebase } from '@lakebase-kit/core';
import { lakebasePrisma } from '@lakebase-kit/prisma';
import { PrismaClient } from '../generated/prisma/client.js';
import { type OrdersRepo, toOrder } from './types.js';

export function prismaRepo(lakebase: Lakebase): OrdersRepo {
  const db = lakebasePrisma({ PrismaClient, lakebase, adapterOptions: { schema: 'app' } });
  return {
    orm: 'prisma',
    allOrders: async () =>
      (await db.prisma.order.findMany({ orderBy: { id: 'asc' } })).map(toOrder),
    myOrders: async (req) =>
      (await db.asUser(req).order.findMany({ orderBy: { id: 'asc' } })).map(toOrder),
    addMyOrder: async (req, order) => toOrder(await db.asUser(req).order.create({ data: order })),
    whoami: async (req) => {
      const rows = await db.asUser(req).$queryRaw<{ me: string }[]>`select current_user as me`;
      return rows[0]!.me;
    },
    close: () => db.$disconnect(),
  };
}
