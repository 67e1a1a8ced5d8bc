/**
 * The orders routes on AppKit's Express app, through the lakebase() plugin of
 * @lakebase-kit/appkit: `appkit.lakebase.query` (service principal), `.asUser(req).query` and
 * `.drizzle(schema).asUser(req)` (the user, so RLS applies).
 */
import type { LakebaseExports } from '@lakebase-kit/appkit';
import {
  type DemoUsers,
  jsonRoute,
  mountLocalHeaders,
  type Order,
  orders,
  PUBLIC_DIR,
  pageConfig,
  parseNewOrder,
} from '@lakebase-kit/example-orders-app/shared';
import { asc } from 'drizzle-orm';
import type { Application, Request } from 'express';

/** `AppKit.lakebase`: the plugin's exports, and the same shape as the user. */
export interface AppKitLakebase extends LakebaseExports {
  asUser(req: Request): LakebaseExports;
}

const COLUMNS = 'id, item, quantity, owner, created_at as "createdAt"';

interface OrderRow {
  id: number;
  item: string;
  quantity: number;
  owner: string;
  createdAt: Date;
}

const toOrder = (row: OrderRow): Order => ({ ...row, createdAt: row.createdAt.toISOString() });

export { PUBLIC_DIR };

export function orderRoutes(lakebase: AppKitLakebase, demo?: DemoUsers) {
  return (app: Application): void => {
    const config = pageConfig('appkit-app', 'pg + drizzle via lakebase()', demo);
    app.get('/api/config', (_req, res) => {
      res.json(config);
    });
    if (demo) mountLocalHeaders(app, demo);

    // As the app's service principal: the table owner sees every order.
    app.get(
      '/api/orders',
      jsonRoute(async () => {
        const { rows } = await lakebase.query<OrderRow>(
          `select ${COLUMNS} from app.orders order by id`,
        );
        return rows.map(toOrder);
      }),
    );

    // As the user, through Drizzle on the plugin's pools.
    app.get(
      '/api/my-orders',
      jsonRoute(async (req) => {
        const db = lakebase.drizzle({ orders }).asUser(req);
        const rows = await db.select().from(orders).orderBy(asc(orders.id));
        return rows.map(toOrder);
      }),
    );

    // As the user, plain SQL: owner defaults to current_user, the user's own role.
    app.post(
      '/api/my-orders',
      jsonRoute(async (req) => {
        const { item, quantity } = parseNewOrder(req.body);
        const { rows } = await lakebase
          .asUser(req)
          .query<OrderRow>(
            `insert into app.orders (item, quantity) values ($1, $2) returning ${COLUMNS}`,
            [item, quantity],
          );
        return toOrder(rows[0]!);
      }, 201),
    );

    app.get(
      '/api/whoami',
      jsonRoute(async (req) => {
        const { rows } = await lakebase
          .asUser(req)
          .query<{ me: string }>('select current_user as me');
        return { user: rows[0]!.me };
      }),
    );
  };
}
