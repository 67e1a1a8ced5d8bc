/**
 * The orders page in headless Chromium (Debian's `chromium`, driven by playwright-core), on a
 * local Lakebase of its own: as alice, then bob, pick the user and see exactly the rows the
 * database says they own (none of the other user's), add an order through the form and see it
 * appear, then submit an order the server refuses and see the error (nothing inserted).
 * Run by `pnpm test:browser` (scripts/test-browser.mjs), which checks for Chromium and builds
 * the packages first. Screenshots: artifacts/browser/orders-<user>.png (git-ignored).
 */
import { existsSync, mkdirSync, rmSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { silentLogger } from '@lakebase-kit/core';
import { type LocalLakebase, startLocalLakebase } from '@lakebase-kit/local';
import { type Browser, chromium, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it, onTestFailed } from 'vitest';
import { type OrdersApp, startOrdersApp } from '../../src/app.js';

const CHROMIUM = '/usr/bin/chromium';
const ARTIFACTS_DIR = fileURLToPath(new URL('../../artifacts/browser', import.meta.url));

const ALICE = 'alice@example.com';
const BOB = 'bob@example.com';

/** A row as the page shows it, or as the database holds it. */
interface Row {
  id: number;
  item: string;
  quantity: number;
  owner: string;
}

let lb: LocalLakebase;
let app: OrdersApp;
let browser: Browser;
let page: Page;
const pageErrors: string[] = [];

/** What the database holds, read as the service principal (it owns the table: no RLS). */
async function dbRows(owner?: string): Promise<Row[]> {
  const { rows } = await app.lakebase.query<Row>(
    `select id, item, quantity, owner from app.orders
     where $1::text is null or owner = $1 order by id`,
    [owner ?? null],
  );
  return rows;
}

/** The rows of the page's "My orders" table, cell by cell. */
async function visibleRows(): Promise<Row[]> {
  return page
    .getByTestId('my-orders')
    .locator('tr')
    .evaluateAll((trs) =>
      trs.map((tr) => {
        const [id, item, quantity, owner] = [...tr.querySelectorAll('td')].map(
          (td) => td.textContent ?? '',
        );
        return { id: Number(id), item: item!, quantity: Number(quantity), owner: owner! };
      }),
    );
}

/** Waits until nothing is in flight on the page (user switch, refresh, new order). */
async function settled(): Promise<void> {
  await page.locator('[data-testid="my-orders"][aria-busy="false"]').waitFor({ state: 'attached' });
}

/** The POST /api/my-orders that `submit` causes, and its JSON body. */
async function postOrder(submit: () => Promise<void>) {
  const [response] = await Promise.all([
    page.waitForResponse(
      (r) => r.request().method() === 'POST' && new URL(r.url()).pathname === '/api/my-orders',
    ),
    submit(),
  ]);
  return { status: response.status(), body: await response.json() };
}

/** On failure, keeps what the page showed: artifacts/browser/failed-<name>.png. */
function screenshotOnFailure(name: string): void {
  onTestFailed(async () => {
    await page.screenshot({ path: path.join(ARTIFACTS_DIR, `failed-${name}.png`), fullPage: true });
  });
}

beforeAll(async () => {
  if (!existsSync(CHROMIUM)) {
    throw new Error(
      `No Chromium at ${CHROMIUM}: install Debian's package (apt-get install chromium)`,
    );
  }
  rmSync(ARTIFACTS_DIR, { recursive: true, force: true });
  mkdirSync(ARTIFACTS_DIR, { recursive: true });
  lb = await startLocalLakebase({ users: [ALICE, BOB] });
  app = await startOrdersApp({ orm: 'drizzle', port: 0, local: lb, logger: silentLogger });
  // launch() gives Chromium a fresh temporary --user-data-dir, removed by close().
  browser = await chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    args: [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
    ],
  });
  page = await browser.newPage({ viewport: { width: 900, height: 800 } });
  page.setDefaultTimeout(15_000);
  page.on('pageerror', (error) => pageErrors.push(error.message));
  await page.goto(app.url);
  // The page starts as the first demo user: wait for that first load to finish.
  await page.getByLabel('Signed in as').waitFor();
  await settled();
});

afterAll(async () => {
  await browser?.close();
  await app?.close();
  await lb?.stop();
});

describe.each([
  { user: ALICE, other: BOB, name: 'alice' },
  { user: BOB, other: ALICE, name: 'bob' },
])('the orders page as $name', ({ user, other, name }) => {
  const item = `Browser tea for ${name}`;

  it('picks the user and shows exactly their rows, none of the other user’s', async () => {
    screenshotOnFailure(name);
    await page.getByLabel('Signed in as').selectOption(user);
    await settled();
    expect(await page.getByTestId('error').isHidden()).toBe(true);
    expect(await page.locator('#whoami').textContent()).toBe(`as ${user}`);

    const mine = await dbRows(user);
    const theirs = await dbRows(other);
    expect(mine.length).toBeGreaterThan(0);
    expect(theirs.length).toBeGreaterThan(0);
    const shown = await visibleRows();
    expect(shown).toEqual(mine);
    const shownIds = new Set(shown.map((row) => row.id));
    expect(theirs.filter((row) => shownIds.has(row.id))).toEqual([]);
    // The service principal's table below still shows every order.
    expect(await page.getByTestId('all-orders').locator('tr').count()).toBe(
      (await dbRows()).length,
    );
  });

  it('adds an order through the form and shows it', async () => {
    screenshotOnFailure(name);
    await page.getByLabel('Item').fill(item);
    await page.getByLabel('Quantity').fill('2');
    const created = await postOrder(() => page.getByRole('button', { name: 'Add order' }).click());
    expect(created.status).toBe(201);
    const id = created.body.id as number;
    await page.locator(`[data-testid="my-orders"] tr[data-order-id="${id}"]`).waitFor();
    await settled();

    expect(await dbRows(user)).toContainEqual({ id, item, quantity: 2, owner: user });
    expect(await visibleRows()).toEqual(await dbRows(user));
    expect(await page.getByTestId('status').textContent()).toContain(`Added order #${id}`);
    expect(await page.getByTestId('error').isHidden()).toBe(true);
  });

  it('refuses bad input with a visible error and inserts nothing', async () => {
    screenshotOnFailure(name);
    const before = await dbRows();
    const shownBefore = await visibleRows();
    // Blank but not empty: the browser's own `required` check lets it through, the server not.
    await page.getByLabel('Item').fill('   ');
    await page.getByLabel('Quantity').fill('3');
    const refused = await postOrder(() => page.getByRole('button', { name: 'Add order' }).click());
    expect(refused.status).toBe(400);

    const error = page.getByRole('alert');
    await error.waitFor();
    await settled();
    expect(await error.textContent()).toContain('"item" must be a non-empty string');
    expect(await dbRows()).toEqual(before);
    expect(await visibleRows()).toEqual(shownBefore);

    const screenshot = path.join(ARTIFACTS_DIR, `orders-${name}.png`);
    await page.screenshot({ path: screenshot, fullPage: true });
    expect(existsSync(screenshot)).toBe(true);
  });
});

describe('the page', () => {
  it('threw no uncaught errors', () => {
    expect(pageErrors).toEqual([]);
  });
});
