/** Orders through Kysely: `kysely` runs as the service principal, `asUser(req)` as the user. */
import type { Lakebase } from '@lakebase-kit/core';
import { lakebaseKysely } from '@lakebase-kit/kysely';
import { type Generated, sql } from 'kysely';
import { type OrdersRepo, toOrder } from './types.js';

/** The database as Kysely sees it (what `kysely-codegen --include-pattern 'app.*'` writes). */
export interface DB {
  'app.orders': {
    id: Generated<number>;
    item: string;
    quantity: Generated<number>;
    owner: Generated<string>;
    created_at: Generated<Date>;
  };
}

const columns = ['id', 'item', 'quantity', 'owner', 'created_at as createdAt'] as const;

export function kyselyRepo(lakebase: Lakebase): OrdersRepo {
  const { kysely, asUser, destroy } = lakebaseKysely<DB>({ lakebase });
  return {
    orm: 'kysely',
    allOrders: async () =>
      (await kysely.selectFrom('app.orders').select(columns).orderBy('id').execute()).map(toOrder),
    myOrders: async (req) =>
      (await asUser(req).selectFrom('app.orders').select(columns).orderBy('id').execute()).map(
        toOrder,
      ),
    addMyOrder: async (req, order) =>
      toOrder(
        await asUser(req)
          .insertInto('app.orders')
          .values(order)
          .returning(columns)
          .executeTakeFirstOrThrow(),
      ),
    whoami: async (req) => {
      const result = await sql<{ me: string }>`select current_user as me`.execute(asUser(req));
      return result.rows[0]!.me;
    },
    close: destroy,
  };
}
