/**
 * The routes of AppKit's own Lakebase samples, re-created from their description (the parity
 * notes, §9), written once against the shape both `lakebase()` plugins export:
 *
 * - the app template's todo routes (`template/server/routes/lakebase/todo-routes.ts`): the
 *   service principal only, `appkit.lakebase.query`, DDL at startup (`todos` in `public`);
 * - the dev-playground's OBO routes (`/api/lakebase-examples/raw/my-products`) with its
 *   `raw_example.products` table (RLS, a policy `FOR ALL TO PUBLIC`, seed rows), plus the
 *   guide's grants to PUBLIC so that users may reach it;
 * - the plugin guide's ("the seed's") recipe: `app.orders` with RLS, its policy and grants to
 *   PUBLIC, and its `GET /api/my-orders`, here handing errors to Express (`next(error)`), so
 *   that Express' own handler answers them;
 * - one probe: `asUser(req).pool`, whose user differs by design (ours runs as the user).
 */
import type { Application, NextFunction, Request, Response } from 'express';

interface QueryResult {
  rows: Array<Record<string, unknown>>;
}
interface LakebaseLike {
  query(text: string, values?: unknown[]): Promise<QueryResult>;
  pool: { query(text: string, values?: unknown[]): Promise<QueryResult> };
}
export interface AppKitLike {
  lakebase: LakebaseLike & { asUser(req: Request): LakebaseLike };
  server: { extend(fn: (app: Application) => void): unknown };
}

/** The app's setup, run by `onPluginsReady` as the service principal (as the samples do). */
export async function setUp(appkit: AppKitLike): Promise<void> {
  const { lakebase } = appkit;
  // the template: one table in public, at every start
  await lakebase.query(`CREATE TABLE IF NOT EXISTS todos (
      id SERIAL PRIMARY KEY,
      title TEXT NOT NULL,
      completed BOOLEAN NOT NULL DEFAULT false,
      created_at TIMESTAMPTZ NOT NULL DEFAULT NOW()
    )`);
  // the guide: its schema and table, then its RLS example and grants
  await lakebase.query('CREATE SCHEMA IF NOT EXISTS app');
  await lakebase.query(`CREATE TABLE IF NOT EXISTS app.orders (
      id SERIAL PRIMARY KEY,
      owner TEXT NOT NULL DEFAULT current_user,
      amount DECIMAL(10, 2) NOT NULL,
      created_at TIMESTAMP DEFAULT CURRENT_TIMESTAMP
    )`);
  await lakebase.query('ALTER TABLE app.orders ENABLE ROW LEVEL SECURITY');
  await lakebase.query('DROP POLICY IF EXISTS user_orders ON app.orders');
  await lakebase.query(
    'CREATE POLICY user_orders ON app.orders FOR ALL TO PUBLIC USING (owner = current_user)',
  );
  await lakebase.query('GRANT USAGE ON SCHEMA app TO PUBLIC');
  await lakebase.query('GRANT SELECT, INSERT ON ALL TABLES IN SCHEMA app TO PUBLIC');
  await lakebase.query(
    `INSERT INTO app.orders (owner, amount) SELECT o, a FROM (VALUES ('alice@example.com', 10.5), ('bob@example.com', 20)) v (o, a)
     WHERE NOT EXISTS (SELECT 1 FROM app.orders)`,
  );
  // the dev-playground: products with RLS, its policy, seed rows (created_by NULL: everyone's)
  await lakebase.query(`CREATE SCHEMA IF NOT EXISTS raw_example;
    CREATE TABLE IF NOT EXISTS raw_example.products (
      id SERIAL PRIMARY KEY,
      name VARCHAR(255) NOT NULL,
      category VARCHAR(100),
      price DECIMAL(10, 2),
      stock INTEGER DEFAULT 0,
      created_by VARCHAR(255),
      created_at TIMESTAMP DEFAULT CURRENT_TIMESTAMP
    )`);
  await lakebase.query('ALTER TABLE raw_example.products ENABLE ROW LEVEL SECURITY');
  await lakebase.query(`DO $$ BEGIN
      IF NOT EXISTS (SELECT 1 FROM pg_policies WHERE schemaname = 'raw_example'
                     AND tablename = 'products' AND policyname = 'user_products_policy') THEN
        CREATE POLICY user_products_policy ON raw_example.products FOR ALL TO PUBLIC
          USING (created_by = current_user OR created_by IS NULL);
      END IF;
    END $$`);
  await lakebase.query('GRANT USAGE ON SCHEMA raw_example TO PUBLIC');
  await lakebase.query('GRANT SELECT, INSERT ON ALL TABLES IN SCHEMA raw_example TO PUBLIC');
  await lakebase.query('GRANT USAGE ON ALL SEQUENCES IN SCHEMA raw_example TO PUBLIC');
  const { rows } = await lakebase.query('SELECT count(*)::int AS n FROM raw_example.products');
  if (rows[0]?.n === 0) {
    for (const [name, category, price, stock] of [
      ['Wireless Mouse', 'Electronics', 29.99, 150],
      ['Clean Code', 'Books', 42.99, 60],
      ['Running Shoes', 'Clothing', 79.99, 85],
    ] as const) {
      await lakebase.query(
        'INSERT INTO raw_example.products (name, category, price, stock) VALUES ($1, $2, $3, $4)',
        [name, category, price, stock],
      );
    }
  }
}

const TODO_COLUMNS = 'id, title, completed, created_at';

/** The template's routes: the SP, JSON errors with fixed texts. */
function todoRoutes(app: Application, lakebase: LakebaseLike): void {
  const fail = (res: Response, text: string, error: unknown) => {
    console.error(`${text}:`, error);
    res.status(500).json({ error: text });
  };
  const idOf = (req: Request, res: Response): number | undefined => {
    const id = Number.parseInt(String(req.params.id), 10);
    if (Number.isNaN(id)) {
      res.status(400).json({ error: 'Invalid id' });
      return undefined;
    }
    return id;
  };
  app.get('/api/lakebase/todos', async (_req, res) => {
    try {
      const { rows } = await lakebase.query(
        `SELECT ${TODO_COLUMNS} FROM todos ORDER BY created_at DESC`,
      );
      res.json(rows);
    } catch (error) {
      fail(res, 'Failed to list todos', error);
    }
  });
  app.post('/api/lakebase/todos', async (req, res) => {
    try {
      const title: unknown = req.body?.title;
      if (typeof title !== 'string' || title.length < 1) {
        res.status(400).json({ error: 'title is required' });
        return;
      }
      const { rows } = await lakebase.query(
        `INSERT INTO todos (title) VALUES ($1) RETURNING ${TODO_COLUMNS}`,
        [title.trim()],
      );
      res.status(201).json(rows[0]);
    } catch (error) {
      fail(res, 'Failed to create todo', error);
    }
  });
  app.patch('/api/lakebase/todos/:id', async (req, res) => {
    try {
      const id = idOf(req, res);
      if (id === undefined) return;
      const { rows } = await lakebase.query(
        `UPDATE todos SET completed = NOT completed WHERE id = $1 RETURNING ${TODO_COLUMNS}`,
        [id],
      );
      if (rows.length === 0) {
        res.status(404).json({ error: 'Todo not found' });
        return;
      }
      res.json(rows[0]);
    } catch (error) {
      fail(res, 'Failed to update todo', error);
    }
  });
  app.delete('/api/lakebase/todos/:id', async (req, res) => {
    try {
      const id = idOf(req, res);
      if (id === undefined) return;
      const { rows } = await lakebase.query('DELETE FROM todos WHERE id = $1 RETURNING id', [id]);
      if (rows.length === 0) {
        res.status(404).json({ error: 'Todo not found' });
        return;
      }
      res.status(204).send();
    } catch (error) {
      fail(res, 'Failed to delete todo', error);
    }
  });
}

/** The dev-playground's OBO routes: the user's pool, errors as `{ error, message }`. */
function productRoutes(app: Application, appkit: AppKitLike): void {
  const path = '/api/lakebase-examples/raw/my-products';
  app.get(path, async (req, res) => {
    try {
      const { rows } = await appkit.lakebase
        .asUser(req)
        .query('SELECT * FROM raw_example.products ORDER BY created_at DESC');
      res.json(rows);
    } catch (error) {
      res
        .status(500)
        .json({ error: 'Failed to fetch user products', message: (error as Error).message });
    }
  });
  app.post(path, async (req, res) => {
    try {
      const { name, category, price, stock } = req.body;
      const { rows } = await appkit.lakebase.asUser(req).query(
        `INSERT INTO raw_example.products (name, category, price, stock, created_by)
           VALUES ($1, $2, $3, $4, current_user) RETURNING *`,
        [name, category, Number(price), Number(stock)],
      );
      res.json(rows[0]);
    } catch (error) {
      res
        .status(500)
        .json({ error: 'Failed to create product', message: (error as Error).message });
    }
  });
}

/** The guide's OBO route, errors to Express; and the pool probe. */
function guideRoutes(app: Application, appkit: AppKitLike): void {
  app.get('/api/my-orders', async (req: Request, res: Response, next: NextFunction) => {
    try {
      const result = await appkit.lakebase
        .asUser(req)
        .query('SELECT * FROM app.orders ORDER BY created_at DESC');
      res.json(result.rows);
    } catch (error) {
      next(error);
    }
  });
  app.get('/probe/pool-user', async (req: Request, res: Response, next: NextFunction) => {
    try {
      const { rows } = await appkit.lakebase.asUser(req).pool.query('SELECT current_user AS who');
      res.json(rows[0]);
    } catch (error) {
      next(error);
    }
  });
}

export function mountRoutes(appkit: AppKitLike): void {
  appkit.server.extend((app) => {
    todoRoutes(app, appkit.lakebase);
    productRoutes(app, appkit);
    guideRoutes(app, appkit);
  });
}
