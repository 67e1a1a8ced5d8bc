/**
 * The orders app booted in-process on a local Lakebase, once per ORM, driven over HTTP with
 * the headers the Databricks Apps proxy forwards (`lb.userHeaders`).
 */
import { silentLogger } from '@lakebase-kit/core';
import { type LocalLakebase, startLocalLakebase } from '@lakebase-kit/local';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type OrdersApp, startOrdersApp } from '../src/app.js';
import { ORMS } from '../src/repos/types.js';
import { call, items, owners } from './http.js';

const ALICE = 'alice@example.com';
const BOB = 'bob@example.com';
const ALICE_SEED = ['Espresso beans', 'Oat milk'];
const BOB_SEED = ['Paper filters', 'Pour-over kettle'];

let lb: LocalLakebase;
let alice: Record<string, string>;
let bob: Record<string, string>;

beforeAll(async () => {
  lb = await startLocalLakebase({ users: [ALICE, BOB] });
  alice = await lb.userHeaders(ALICE);
  bob = await lb.userHeaders(BOB);
});

afterAll(async () => {
  await lb?.stop();
});

describe.each(ORMS)('orders app on %s', (orm) => {
  let app: OrdersApp;
  const widget = `Widget via ${orm}`;

  beforeAll(async () => {
    app = await startOrdersApp({ orm, port: 0, local: lb, logger: silentLogger });
  });
  afterAll(async () => {
    await app?.close();
  });

  it('GET /api/orders runs as the service principal and sees every order', async () => {
    const res = await call(app.url, '/api/orders');
    expect(res.status).toBe(200);
    expect(owners(res.body)).toEqual(expect.arrayContaining([ALICE, BOB]));
    expect(items(res.body)).toEqual(expect.arrayContaining([...ALICE_SEED, ...BOB_SEED]));
    // Migrations and seed ran again on this boot (one per ORM) without duplicating anything.
    expect(res.body.filter((o: { item: string }) => o.item === 'Espresso beans')).toHaveLength(1);
  });

  it('GET /api/my-orders shows alice and bob only their own orders (RLS)', async () => {
    const mine = await call(app.url, '/api/my-orders', { headers: alice });
    expect(mine.status).toBe(200);
    expect(owners(mine.body)).toEqual([ALICE]);
    expect(items(mine.body)).toEqual(expect.arrayContaining(ALICE_SEED));
    const his = await call(app.url, '/api/my-orders', { headers: bob });
    expect(owners(his.body)).toEqual([BOB]);
    expect(items(his.body)).toEqual(BOB_SEED);
  });

  it('GET /api/whoami is current_user on the user’s connection', async () => {
    expect((await call(app.url, '/api/whoami', { headers: alice })).body).toEqual({ user: ALICE });
    expect((await call(app.url, '/api/whoami', { headers: bob })).body).toEqual({ user: BOB });
  });

  it('POST /api/my-orders inserts as alice: she sees it, bob does not, the SP does', async () => {
    const created = await call(app.url, '/api/my-orders', {
      method: 'POST',
      headers: alice,
      json: { item: widget, quantity: 3 },
    });
    expect(created.status).toBe(201);
    expect(created.body).toMatchObject({ item: widget, quantity: 3, owner: ALICE });
    expect(typeof created.body.id).toBe('number');
    expect(Number.isNaN(Date.parse(created.body.createdAt))).toBe(false);

    expect(items((await call(app.url, '/api/my-orders', { headers: alice })).body)).toContain(
      widget,
    );
    expect(items((await call(app.url, '/api/my-orders', { headers: bob })).body)).not.toContain(
      widget,
    );
    expect(items((await call(app.url, '/api/orders')).body)).toContain(widget);
  });

  it('answers 400 to a bad order', async () => {
    for (const json of [
      {},
      { item: '' },
      { item: 'x', quantity: 0 },
      { item: 'x', quantity: 1.5 },
    ]) {
      const res = await call(app.url, '/api/my-orders', { method: 'POST', headers: alice, json });
      expect(res.status, JSON.stringify(json)).toBe(400);
      expect(res.body.error).toBe('BadRequestError');
    }
    const broken = await fetch(new URL('/api/my-orders', app.url), {
      method: 'POST',
      headers: { ...alice, 'content-type': 'application/json' },
      body: '{not json',
    });
    expect(broken.status).toBe(400);
  });

  it('answers 401 without a user token, and to alice’s token presented as bob', async () => {
    const noToken = { 'x-forwarded-email': ALICE };
    for (const [method, path] of [
      ['GET', '/api/my-orders'],
      ['POST', '/api/my-orders'],
      ['GET', '/api/whoami'],
    ] as const) {
      const json = method === 'POST' ? { item: 'x' } : undefined;
      const res = await call(app.url, path, { method, headers: noToken, json });
      expect(res.status, `${method} ${path}`).toBe(401);
      expect(res.body.error).toBe('AuthenticationError');
    }
    const forged = { ...alice, 'x-forwarded-email': BOB };
    const res = await call(app.url, '/api/my-orders', { headers: forged });
    expect(res.status).toBe(401);
    expect(res.text).not.toContain(alice['x-forwarded-access-token']!);
  });

  it('serves the page, its config and the local headers endpoint', async () => {
    const page = await call(app.url, '/');
    expect(page.status).toBe(200);
    expect(page.text).toContain('<title>Orders');
    expect((await call(app.url, '/app.js')).text).toContain('/local/headers');
    expect((await call(app.url, '/api/config')).body).toEqual({
      app: 'orders-app',
      orm,
      local: true,
      users: [ALICE, BOB],
    });
    const headers = await call(app.url, `/local/headers?user=${encodeURIComponent(BOB)}`);
    expect(headers.status).toBe(200);
    expect(headers.body['x-forwarded-email']).toBe(BOB);
    // The headers the page gets work like the proxy's.
    expect((await call(app.url, '/api/whoami', { headers: headers.body })).body).toEqual({
      user: BOB,
    });
    expect((await call(app.url, '/local/headers?user=eve@example.com')).status).toBe(404);
  });
});

describe('orders app with a real Lakebase’s environment', () => {
  let app: OrdersApp;
  beforeAll(async () => {
    // local: false → configured only from the env, exactly as against a real Lakebase.
    app = await startOrdersApp({
      port: 0,
      host: '127.0.0.1',
      local: false,
      env: { ...lb.env },
      logger: silentLogger,
    });
  });
  afterAll(async () => {
    await app?.close();
  });

  it('runs the same routes and never exposes /local/headers', async () => {
    expect(app.local).toBeUndefined();
    expect((await call(app.url, '/api/config')).body.local).toBe(false);
    expect((await call(app.url, '/local/headers?user=alice@example.com')).status).toBe(404);
    expect(owners((await call(app.url, '/api/my-orders', { headers: bob })).body)).toEqual([BOB]);
    expect(owners((await call(app.url, '/api/orders')).body)).toEqual(
      expect.arrayContaining([ALICE, BOB]),
    );
  });

  it('fails clearly on a busy port, or takes a free one when allowed', async () => {
    const options = { local: false, env: { ...lb.env }, host: '127.0.0.1', logger: silentLogger };
    await expect(startOrdersApp({ ...options, port: app.port })).rejects.toThrow(
      `Port ${app.port} on 127.0.0.1 is already in use`,
    );
    const other = await startOrdersApp({ ...options, port: app.port, fallbackToFreePort: true });
    try {
      expect(other.busyPort).toBe(app.port);
      expect(other.port).not.toBe(app.port);
      expect((await call(other.url, '/api/orders')).status).toBe(200);
    } finally {
      await other.close();
    }
  });
});
