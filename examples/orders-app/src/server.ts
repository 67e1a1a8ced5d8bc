/**
 * The Express app: the orders API, the page, and (local mode only) /local/headers.
 * `/api/orders` runs as the app's service principal; `/api/my-orders` and `/api/whoami` run as
 * the user whose token the Databricks Apps proxy forwards (`x-forwarded-access-token`).
 */
import { fileURLToPath } from 'node:url';
import express, { type Express } from 'express';
import { errorMiddleware, jsonRoute } from './http-errors.js';
import { type DemoUsers, mountLocalHeaders } from './local-mode.js';
import { parseNewOrder } from './orders-input.js';
import type { OrdersRepo } from './repos/types.js';

/** The page (index.html + app.js), shared with the AppKit example. */
export const PUBLIC_DIR = fileURLToPath(new URL('../public', import.meta.url));

/** What the page needs to know: which ORM, and whether to offer the local user picker. */
export interface PageConfig {
  app: string;
  orm: string;
  local: boolean;
  users: readonly string[];
}

export function pageConfig(app: string, orm: string, demo?: DemoUsers): PageConfig {
  return { app, orm, local: demo !== undefined, users: demo?.users ?? [] };
}

export interface OrdersServerOptions {
  repo: OrdersRepo;
  /** Only on a local Lakebase: its demo users; serves GET /local/headers. */
  demo?: DemoUsers;
}

export function createOrdersServer({ repo, demo }: OrdersServerOptions): Express {
  const app = express();
  app.disable('x-powered-by');
  app.use(express.json({ limit: '16kb' }));

  const config = pageConfig('orders-app', repo.orm, demo);
  app.get('/api/config', (_req, res) => {
    res.json(config);
  });
  if (demo) mountLocalHeaders(app, demo);

  app.get(
    '/api/orders',
    jsonRoute(() => repo.allOrders()),
  );
  app.get(
    '/api/my-orders',
    jsonRoute((req) => repo.myOrders(req)),
  );
  app.post(
    '/api/my-orders',
    jsonRoute((req) => repo.addMyOrder(req, parseNewOrder(req.body)), 201),
  );
  app.get(
    '/api/whoami',
    jsonRoute(async (req) => ({ user: await repo.whoami(req) })),
  );
  app.use(['/api', '/local'], (req, res) => {
    res.status(404).json({
      error: 'NotFound',
      status: 404,
      message: `No route ${req.method} ${req.originalUrl}`,
    });
  });

  app.use(express.static(PUBLIC_DIR));
  app.use(errorMiddleware);
  return app;
}
