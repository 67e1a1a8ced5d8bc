/**
 * The AppKit orders app (`createApp` + the lakebase() plugin) booted in-process on a local
 * Lakebase and driven over HTTP with the headers the Databricks Apps proxy forwards.
 * Runs in a forked vitest pool: AppKit keeps process-wide singletons.
 */
import { type LocalLakebase, startLocalLakebase } from '@lakebase-kit/local';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { type AppkitApp, startAppkitApp } from '../src/app.js';

const ALICE = 'alice@example.com';
const BOB = 'bob@example.com';

let lb: LocalLakebase;
let app: AppkitApp;
let alice: Record<string, string>;
let bob: Record<string, string>;
const savedEnv = { ...process.env };

interface Reply {
  status: number;
  // biome-ignore lint/suspicious/noExplicitAny: JSON bodies, asserted field by field
  body: any;
  text: string;
}

async function call(
  path: string,
  init: { method?: string; headers?: Record<string, string>; json?: unknown } = {},
): Promise<Reply> {
  const headers = { ...init.headers };
  if (init.json !== undefined) headers['content-type'] = 'application/json';
  const res = await fetch(new URL(path, app.url), {
    method: init.method ?? 'GET',
    headers,
    body: init.json === undefined ? undefined : JSON.stringify(init.json),
  });
  const text = await res.text();
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch {}
  return { status: res.status, body, text };
}

const owners = (orders: { owner: string }[]) => [...new Set(orders.map((o) => o.owner))].sort();
const items = (orders: { item: string }[]) => orders.map((o) => o.item).sort();

beforeAll(async () => {
  lb = await startLocalLakebase({ users: [ALICE, BOB] });
  alice = await lb.userHeaders(ALICE);
  bob = await lb.userHeaders(BOB);
  app = await startAppkitApp({ port: 0, local: lb });
});

afterAll(async () => {
  await app?.close();
  await lb?.stop();
  process.env = savedEnv;
});

describe('the orders app on AppKit', () => {
  it('GET /api/orders runs as the service principal (appkit.lakebase.query): every order', async () => {
    const res = await call('/api/orders');
    expect(res.status).toBe(200);
    expect(owners(res.body)).toEqual([ALICE, BOB]);
    expect(items(res.body)).toEqual([
      'Espresso beans',
      'Oat milk',
      'Paper filters',
      'Pour-over kettle',
    ]);
  });

  it('GET /api/my-orders (Drizzle, asUser) shows alice and bob only their own', async () => {
    const mine = await call('/api/my-orders', { headers: alice });
    expect(mine.status).toBe(200);
    expect(items(mine.body)).toEqual(['Espresso beans', 'Oat milk']);
    expect(owners((await call('/api/my-orders', { headers: bob })).body)).toEqual([BOB]);
  });

  it('GET /api/whoami runs as the user', async () => {
    expect((await call('/api/whoami', { headers: alice })).body).toEqual({ user: ALICE });
    expect((await call('/api/whoami', { headers: bob })).body).toEqual({ user: BOB });
  });

  it('POST /api/my-orders (asUser(req).query) inserts as alice: she sees it, bob does not', async () => {
    const created = await call('/api/my-orders', {
      method: 'POST',
      headers: alice,
      json: { item: 'AppKit mug', quantity: 2 },
    });
    expect(created.status).toBe(201);
    expect(created.body).toMatchObject({ item: 'AppKit mug', quantity: 2, owner: ALICE });
    expect(items((await call('/api/my-orders', { headers: alice })).body)).toContain('AppKit mug');
    expect(items((await call('/api/my-orders', { headers: bob })).body)).not.toContain(
      'AppKit mug',
    );
    expect(items((await call('/api/orders')).body)).toContain('AppKit mug');
    const bad = await call('/api/my-orders', {
      method: 'POST',
      headers: alice,
      json: { item: '' },
    });
    expect(bad.status).toBe(400);
  });

  it('answers 401 without a user token', async () => {
    const noToken = { 'x-forwarded-email': ALICE };
    expect((await call('/api/my-orders', { headers: noToken })).status).toBe(401);
    expect((await call('/api/whoami', { headers: noToken })).status).toBe(401);
    const post = await call('/api/my-orders', {
      method: 'POST',
      headers: noToken,
      json: { item: 'x' },
    });
    expect(post.status).toBe(401);
    expect(post.body.error).toBe('AuthenticationError');
  });

  it('serves the page with its config and the local headers', async () => {
    const page = await call('/');
    expect(page.status).toBe(200);
    expect(page.text).toContain('<title>Orders');
    expect((await call('/api/config')).body).toMatchObject({ app: 'appkit-app', local: true });
    const headers = (await call(`/local/headers?user=${encodeURIComponent(BOB)}`)).body;
    expect((await call('/api/whoami', { headers })).body).toEqual({ user: BOB });
  });

  it('close() stops the server and leaves no connection open', async () => {
    expect(lb.stats().openConnections).toBeGreaterThan(0);
    await app.close();
    await expect(fetch(app.url)).rejects.toThrow();
    await vi.waitFor(() => expect(lb.stats().openConnections).toBe(0));
    expect(app.appkit.lakebase.lakebase.closed).toBe(true);
  });
});
