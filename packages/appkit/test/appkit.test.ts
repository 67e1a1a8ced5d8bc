/**
 * The real `createApp({ plugins: [server(), lakebase()] })` on the local Lakebase, driven over
 * HTTP with the headers the Databricks Apps proxy forwards; the app creates its table in
 * `onPluginsReady`, as AppKit's template does. The plugin logs with its default AppKit-style
 * lines (console, spied on).
 */
import { AppKitError, createApp, server } from '@databricks/appkit';
import { type LocalLakebase, startLocalLakebase } from '@lakebase-kit/local';
import { pgSchema, serial, text } from 'drizzle-orm/pg-core';
import type { Request, Response } from 'express';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { lakebase } from '../src/index.js';

const ALICE = 'alice@example.com';
const BOB = 'bob@example.com';

const app = pgSchema('app');
const orders = app.table('orders', {
  id: serial('id').primaryKey(),
  item: text('item').notNull(),
  owner: text('owner').notNull(),
});
interface DB {
  'app.orders': { id: number; item: string; owner: string };
}

let lb: LocalLakebase;
let base: string;
/** What the plugin wrote to the console: `[appkit:lakebase] ...` lines, by level. */
const consoleLines: string[] = [];
/** Whether the startup checks had started when onPluginsReady finished. */
let checksStartedDuringSetup: boolean | undefined;
let appkit: Awaited<ReturnType<typeof startApp>>;
const savedEnv = { ...process.env };
/** The SIGTERM handlers AppKit's server registered (not embedded Postgres's own). */
let appkitShutdown: NodeJS.SignalsListener[] = [];

const checksStarted = () =>
  consoleLines.some((line) => line.endsWith('[appkit:lakebase] Running the startup checks'));

async function startApp(port: number) {
  return createApp({
    plugins: [server({ port, host: '127.0.0.1' }), lakebase({ pool: { max: 5 } })],
    async onPluginsReady(kit) {
      // The app's own setup, as the SP, in an order that is unsafe half way: the table is
      // readable by PUBLIC before its RLS is on. Startup checks running now would report it.
      const sp = lb.env.PGUSER;
      await kit.lakebase.query(`create schema app;
        create table app.orders (id serial primary key, item text not null, owner text not null default current_user);
        grant usage on schema app to public;
        grant select, insert on app.orders to public;
        grant usage on sequence app.orders_id_seq to public`);
      checksStartedDuringSetup = checksStarted();
      await kit.lakebase.query(`alter table app.orders enable row level security;
        create policy own on app.orders using (owner = current_user) with check (owner = current_user);
        insert into app.orders (item, owner) values ('apple', '${ALICE}'), ('avocado', '${ALICE}'), ('banana', '${BOB}'), ('sp-crate', '${sp}')`);
      const route =
        (fn: (req: Request) => Promise<unknown>) => async (req: Request, res: Response) => {
          try {
            res.json(await fn(req));
          } catch (error) {
            const status = (error as { statusCode?: number }).statusCode ?? 500;
            res.status(status).json({ error: (error as Error).name });
          }
        };
      const items = (rows: { item: string }[]) => rows.map((r) => r.item).sort();
      const sql = 'select item from app.orders order by item';
      kit.server.extend((express) => {
        express.get(
          '/sp/query',
          route(async () => items((await kit.lakebase.query(sql)).rows)),
        );
        express.get(
          '/me/query',
          route(async (req) => items((await kit.lakebase.asUser(req).query(sql)).rows)),
        );
        // The pool is used after the route's call to asUser() returned and after an await:
        // the official plugin's routing pool runs this as the service principal.
        express.get(
          '/me/pool-later',
          route(async (req) => {
            const pool = kit.lakebase.asUser(req).pool;
            await new Promise((r) => setTimeout(r, 20));
            const who = await pool.query('select current_user as u');
            return { user: who.rows[0].u, items: items((await pool.query(sql)).rows) };
          }),
        );
        express.get(
          '/me/drizzle',
          route(async (req) => {
            const db = kit.lakebase.drizzle({ orders }).asUser(req);
            return items(await db.select({ item: orders.item }).from(orders));
          }),
        );
        express.get(
          '/me/drizzle-scope',
          route(async (req) => {
            const db = kit.lakebase.asUser(req).drizzle({ orders });
            return items(await db.select({ item: orders.item }).from(orders));
          }),
        );
        express.get(
          '/me/kysely',
          route(async (req) => {
            const { kysely } = kit.lakebase.kysely<DB>().withUser(req);
            return items(await kysely.selectFrom('app.orders').select('item').execute());
          }),
        );
        express.get(
          '/me/kysely-scope',
          route(async (req) => {
            // the handle under asUser(req) has the SP handle's members, each the user's
            const handle = kit.lakebase.asUser(req).kysely<DB>();
            const answers = await Promise.all(
              [handle.kysely, handle.read, handle.direct, handle.withUser(req).kysely].map(
                async (db) => items(await db.selectFrom('app.orders').select('item').execute()),
              ),
            );
            expect(new Set(answers.map((a) => a.join())).size).toBe(1);
            return answers[0];
          }),
        );
        express.get(
          '/sp/kysely',
          route(async () => {
            const { kysely } = kit.lakebase.kysely<DB>();
            return items(await kysely.selectFrom('app.orders').select('item').execute());
          }),
        );
      });
    },
  });
}

async function get(path: string, headers: Record<string, string> = {}) {
  const res = await fetch(`${base}${path}`, { headers });
  return { status: res.status, body: (await res.json()) as any };
}

beforeAll(async () => {
  lb = await startLocalLakebase({ users: [ALICE, BOB] });
  Object.assign(process.env, lb.env, {
    DISABLE_APPKIT_INTERNAL_TELEMETRY: 'true',
    NODE_ENV: 'production',
    DEBUG: 'appkit:lakebase', // the plugin's debug lines too
  });
  for (const [level, method] of [
    ['info', 'log'],
    ['warn', 'warn'],
    ['error', 'error'],
    ['debug', 'debug'],
  ] as const) {
    const original = console[method].bind(console);
    vi.spyOn(console, method).mockImplementation((...data: unknown[]) => {
      if (data[0] === '[appkit:lakebase]') consoleLines.push(`${level} ${data.join(' ')}`);
      original(...data);
    });
  }
  const port = 20000 + Math.floor(Math.random() * 20000);
  base = `http://127.0.0.1:${port}`;
  const before = new Set(process.listeners('SIGTERM'));
  appkit = await startApp(port);
  appkitShutdown = process.listeners('SIGTERM').filter((l) => !before.has(l));
});

afterAll(async () => {
  vi.restoreAllMocks();
  await lb?.stop();
  process.env = savedEnv;
});

describe('lakebase() on AppKit', () => {
  it('writes the official lifecycle lines at info, prefixed [appkit:lakebase]', () => {
    const lifecycle = consoleLines.filter((line) => line.startsWith('info ')).slice(0, 2);
    expect(lifecycle).toEqual([
      'info [appkit:lakebase] Lakebase SP pool initialized',
      'info [appkit:lakebase] Lakebase OBO pool manager initialized',
    ]);
  });

  it('runs the startup checks once the app is set up (never during onPluginsReady): nothing to report', async () => {
    expect(checksStartedDuringSetup).toBe(false);
    // AppKit's server started after onPluginsReady: that started them
    expect(checksStarted()).toBe(true);
    const summary = () => consoleLines.filter((line) => line.includes('Startup checks'));
    await vi.waitFor(() => expect(summary()).toHaveLength(1));
    expect(summary()[0]).toMatch(
      /^info \[appkit:lakebase\] Startup checks \(lakebase-kit doctor\): no problems found in \d+ checks/,
    );
    expect(consoleLines.filter((line) => line.startsWith('warn '))).toEqual([]);
  });

  it('runs SP routes as the service principal: all rows', async () => {
    expect((await get('/sp/query')).body).toEqual(['apple', 'avocado', 'banana', 'sp-crate']);
    expect((await get('/sp/kysely')).body).toEqual(['apple', 'avocado', 'banana', 'sp-crate']);
  });

  it('runs query, pool, Drizzle and Kysely under asUser(req) as the user (RLS)', async () => {
    const alice = await lb.userHeaders(ALICE);
    const bob = await lb.userHeaders(BOB);
    for (const path of [
      '/me/query',
      '/me/drizzle',
      '/me/drizzle-scope',
      '/me/kysely',
      '/me/kysely-scope',
    ]) {
      expect((await get(path, alice)).body, path).toEqual(['apple', 'avocado']);
      expect((await get(path, bob)).body, path).toEqual(['banana']);
    }
  });

  it('keeps asUser(req).pool bound to the user after the call returns (no SP leak)', async () => {
    const res = await get('/me/pool-later', await lb.userHeaders(BOB));
    expect(res.status).toBe(200);
    expect(res.body).toEqual({ user: BOB, items: ['banana'] });
  });

  it('answers 401 to a request without a user token', async () => {
    for (const path of ['/me/query', '/me/pool-later', '/me/drizzle', '/me/kysely']) {
      const res = await get(path, { 'x-forwarded-email': ALICE });
      expect(res.status, path).toBe(401);
      expect(res.body.error).toBe('AuthenticationError');
    }
  });

  it("throws AppKit's AuthenticationError from asUser(req) at once, as the official plugin", () => {
    const req = { headers: { 'x-forwarded-email': ALICE } };
    let thrown: unknown;
    try {
      appkit.lakebase.asUser(req as unknown as Request);
    } catch (error) {
      thrown = error;
    }
    expect(thrown).toBeInstanceOf(AppKitError);
    expect(thrown).toMatchObject({
      name: 'AuthenticationError',
      code: 'AUTHENTICATION_ERROR',
      statusCode: 401,
      message: 'Missing user token in request headers',
      context: { tokenType: 'user token' },
      cause: { code: 'LAKEBASE_AUTHENTICATION', status: 401 },
    });
  });

  it('refuses alice’s token presented as bob', async () => {
    await get('/me/query', await lb.userHeaders(BOB)); // bob's pool is warm
    const forged = { ...(await lb.userHeaders(ALICE)), 'x-forwarded-email': BOB };
    const res = await get('/me/query', forged);
    expect(res.status).toBe(401);
    expect(res.body.error).toBe('AuthenticationError');
  });

  it('closes every connection on AppKit shutdown', async () => {
    const core = appkit.lakebase.lakebase;
    await get('/me/query', await lb.userHeaders(ALICE));
    await get('/me/query', await lb.userHeaders(BOB));
    await get('/sp/query');
    const open = (role: string) => lb.stats().connections[role]?.open ?? 0;
    expect(open(ALICE)).toBeGreaterThan(0);
    expect(core.stats().sp.totalCount).toBeGreaterThan(0);
    expect(appkitShutdown.length).toBeGreaterThan(0);
    // AppKit's graceful shutdown ends with process.exit(): keep the test process alive.
    const exit = vi.spyOn(process, 'exit').mockImplementation((() => undefined) as never);
    try {
      for (const listener of appkitShutdown) listener('SIGTERM');
      await vi.waitFor(() => expect(core.closed).toBe(true), { timeout: 10_000 });
      await vi.waitFor(() => expect(exit).toHaveBeenCalled(), { timeout: 20_000 });
    } finally {
      exit.mockRestore();
    }
    await vi.waitFor(() => {
      expect(open(ALICE)).toBe(0);
      expect(open(BOB)).toBe(0);
    });
    expect(core.stats().sp.totalCount).toBe(0);
    expect(core.stats().users.connections).toBe(0);
    // the official plugin's lines, in its order
    const closing = consoleLines.filter((line) => line.includes('Closing'));
    expect(closing).toEqual([
      'info [appkit:lakebase] Closing Lakebase SP pool',
      'info [appkit:lakebase] Closing all Lakebase OBO pools (2)',
    ]);
    // AppKit.lakebase stays, its calls fail with AppKit's ConnectionError (503)
    await expect(appkit.lakebase.query('select 1')).rejects.toMatchObject({
      name: 'ConnectionError',
      code: 'CONNECTION_ERROR',
      statusCode: 503,
    });
    expect(consoleLines.join('\n')).not.toMatch(/lbk_/);
  });
});
