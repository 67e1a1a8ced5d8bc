/**
 * Swap the import and nothing else changes: the same app (test/parity/server.ts — AppKit's
 * template todo routes, the dev-playground's OBO routes and the plugin guide's RLS recipe)
 * runs once with the official `lakebase()` of `@databricks/appkit` and once with ours, each in
 * its own process, on the same local Lakebase (reset in between). The same requests go to
 * both; status codes and bodies must be equal, except where ours is documented as stricter
 * (packages/appkit/README.md, "Differences"), and there each side's answer is asserted.
 * Both apps must log the official lifecycle lines; ours also its startup checks, with nothing
 * to report on this setup.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { type LocalLakebase, startLocalLakebase } from '@lakebase-kit/local';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';

const here = path.dirname(fileURLToPath(import.meta.url));
const ALICE = 'alice@example.com';
const BOB = 'bob@example.com';
type Which = 'official' | 'ours';

interface Reply {
  status: number;
  body: unknown;
}
interface Run {
  replies: Map<string, Reply>;
  output: string;
  exitCode: number | null;
}

let lb: LocalLakebase;
const runs = {} as Record<Which, Run>;

/** Timestamps differ between the runs: each becomes `<timestamp>` once checked to be one. */
function normalize(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(normalize);
  if (value && typeof value === 'object') {
    return Object.fromEntries(
      Object.entries(value).map(([key, v]) =>
        key === 'created_at' && typeof v === 'string' && !Number.isNaN(Date.parse(v))
          ? [key, '<timestamp>']
          : [key, normalize(v)],
      ),
    );
  }
  return value;
}

/** The app of `which`, started as a process on `lb`; resolves once it listens. */
async function startApp(
  which: Which,
): Promise<{ child: ChildProcess; base: string; out: () => string }> {
  const child = spawn(process.execPath, ['--import', 'tsx', path.join(here, 'parity/server.ts')], {
    cwd: path.resolve(here, '..'),
    env: {
      ...process.env,
      ...lb.env,
      LAKEBASE_PLUGIN: which,
      NODE_ENV: 'production',
      DISABLE_APPKIT_INTERNAL_TELEMETRY: 'true',
      // the official plugin verifies TLS against Node's CA store only
      NODE_EXTRA_CA_CERTS: lb.tls!.caFile,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout?.on('data', (chunk) => {
    output += chunk;
  });
  child.stderr?.on('data', (chunk) => {
    output += chunk;
  });
  const port = await new Promise<number>((resolve, reject) => {
    const onData = () => {
      const ready = /READY (\d+)/.exec(output);
      if (ready) resolve(Number(ready[1]));
    };
    child.stdout?.on('data', onData);
    child.once('exit', (code) => reject(new Error(`${which} app exited (${code}):\n${output}`)));
  });
  return { child, base: `http://127.0.0.1:${port}`, out: () => output };
}

/** The same requests, in the same order, against one app. */
async function scenario(base: string): Promise<Map<string, Reply>> {
  const alice = await lb.userHeaders(ALICE);
  const bob = await lb.userHeaders(BOB);
  const noToken = {
    'x-forwarded-email': ALICE,
    'x-forwarded-user': alice['x-forwarded-user'] as string,
  };
  const tokenOnly = { 'x-forwarded-access-token': alice['x-forwarded-access-token'] as string };
  const forged = { ...alice, 'x-forwarded-email': BOB };
  const replies = new Map<string, Reply>();
  const call = async (
    name: string,
    method: string,
    url: string,
    headers: Record<string, string> = {},
    json?: unknown,
  ) => {
    const res = await fetch(`${base}${url}`, {
      method,
      headers: json === undefined ? headers : { ...headers, 'content-type': 'application/json' },
      body: json === undefined ? undefined : JSON.stringify(json),
    });
    const text = await res.text();
    let body: unknown = text;
    try {
      body = JSON.parse(text);
    } catch {}
    replies.set(name, { status: res.status, body: normalize(body) });
  };
  const todos = '/api/lakebase/todos';
  await call('todos: list empty', 'GET', todos);
  await call('todos: create', 'POST', todos, {}, { title: '  Buy milk ' });
  await call('todos: create without title', 'POST', todos, {}, {});
  await call('todos: create another', 'POST', todos, {}, { title: 'Walk' });
  await call('todos: list two', 'GET', todos);
  await call('todos: toggle', 'PATCH', `${todos}/1`);
  await call('todos: toggle bad id', 'PATCH', `${todos}/abc`);
  await call('todos: toggle missing', 'PATCH', `${todos}/99`);
  await call('todos: delete', 'DELETE', `${todos}/2`);
  await call('todos: delete again', 'DELETE', `${todos}/2`);
  await call('todos: list one', 'GET', todos);
  const products = '/api/lakebase-examples/raw/my-products';
  await call('products: alice sees the seed', 'GET', products, alice);
  await call('products: alice creates', 'POST', products, alice, {
    name: 'Desk lamp',
    category: 'Home',
    price: '12.5',
    stock: '3',
  });
  await call('products: bob does not see it', 'GET', products, bob);
  await call('products: alice sees it', 'GET', products, alice);
  await call('products: no token', 'GET', products, noToken);
  await call('products: token without a user', 'GET', products, tokenOnly);
  await call('products: alice’s token as bob', 'POST', products, forged, {
    name: 'Forged',
    category: 'x',
    price: '1',
    stock: '1',
  });
  await call('guide: alice’s orders', 'GET', '/api/my-orders', alice);
  await call('guide: bob’s orders', 'GET', '/api/my-orders', bob);
  await call('guide: no token', 'GET', '/api/my-orders', noToken);
  await call('guide: alice’s token as bob', 'GET', '/api/my-orders', forged);
  await call('probe: asUser(req).pool runs as', 'GET', '/probe/pool-user', alice);
  return replies;
}

/** Runs the scenario on `which`'s app, then stops it the way the platform does (SIGTERM). */
async function run(which: Which): Promise<Run> {
  const app = await startApp(which);
  const replies = await scenario(app.base);
  if (which === 'ours') {
    // the startup checks run once the server started; wait for what they found
    await vi.waitFor(() => expect(app.out()).toContain('Startup checks (lakebase-kit doctor)'), {
      timeout: 20_000,
    });
  }
  const exited = new Promise<number | null>((resolve) => app.child.once('exit', resolve));
  app.child.kill('SIGTERM');
  const exitCode = await exited;
  return { replies, output: app.out(), exitCode };
}

beforeAll(async () => {
  lb = await startLocalLakebase({ users: [ALICE, BOB] });
  // The template creates `todos` in public; Lakebase (and the local one) gives the app's SP no
  // CREATE there, so the project owner grants it, as the template assumes.
  await lb.sql(`grant create on schema public to "${lb.env.PGUSER}"`);
  for (const which of ['official', 'ours'] as const) {
    runs[which] = await run(which);
    await lb.sql(
      'drop table if exists public.todos; drop schema if exists app, raw_example cascade',
    );
  }
}, 180_000);

afterAll(async () => {
  await lb?.stop();
});

/** Answers that differ by design: the official one, then ours (README "Differences"). */
const STRICTER: Record<string, [Reply, Reply]> = {
  // Postgres refuses the login the official plugin tries with alice's token as bob; ours
  // refuses the request before any login (the token is checked against the identity).
  'products: alice’s token as bob': [
    {
      status: 500,
      body: {
        error: 'Failed to create product',
        message: `password authentication failed for user "${BOB}"`,
      },
    },
    {
      status: 500,
      body: {
        error: 'Failed to create product',
        message: `The forwarded access token does not belong to "${BOB}" (x-forwarded-email / x-forwarded-user); identities are compared exactly, as Postgres compares role names`,
      },
    },
  ],
  // the same case through Express' handler: pg's error has no status (500); ours is AppKit's
  // AuthenticationError (401)
  'guide: alice’s token as bob': [
    { status: 500, body: expect.stringContaining('<pre>Internal Server Error</pre>') },
    { status: 401, body: expect.stringContaining('<pre>Unauthorized</pre>') },
  ],
};

describe('the same app on the official lakebase() and on ours', () => {
  it('both ran the whole scenario and exited cleanly on SIGTERM', () => {
    for (const which of ['official', 'ours'] as const) {
      expect(runs[which].replies.size, which).toBe(23);
      expect(runs[which].exitCode, runs[which].output).toBe(0);
    }
  });

  it('answers every request of the template, the dev-playground and the guide the same way', () => {
    const { official, ours } = runs;
    for (const [name, theirs] of official.replies) {
      if (name in STRICTER || name.startsWith('probe:')) continue;
      expect(ours.replies.get(name), name).toEqual(theirs);
    }
    // and the answers are the ones these samples mean to give (not an equal failure)
    const get = (name: string) => official.replies.get(name);
    expect(get('todos: create')).toEqual({
      status: 201,
      body: { id: 1, title: 'Buy milk', completed: false, created_at: '<timestamp>' },
    });
    expect(get('todos: list one')?.body).toEqual([
      { id: 1, title: 'Buy milk', completed: true, created_at: '<timestamp>' },
    ]);
    expect(get('todos: delete')).toEqual({ status: 204, body: '' });
    expect(get('products: alice creates')).toMatchObject({
      status: 200,
      body: { name: 'Desk lamp', price: '12.50', stock: 3, created_by: ALICE },
    });
    expect(get('products: alice sees it')?.body).toHaveLength(4);
    expect(get('products: bob does not see it')?.body).toHaveLength(3);
    expect(get('products: no token')).toEqual({
      status: 500,
      body: {
        error: 'Failed to fetch user products',
        message: 'Missing user token in request headers',
      },
    });
    expect(get('products: token without a user')?.body).toMatchObject({
      message:
        'User ID not available in request headers. Ensure the request has the x-forwarded-user header.',
    });
    expect(get('guide: alice’s orders')).toEqual({
      status: 200,
      body: [{ id: 1, owner: ALICE, amount: '10.50', created_at: '<timestamp>' }],
    });
    // AppKit's AuthenticationError through Express' own handler: 401 on both
    expect(get('guide: no token')?.status).toBe(401);
  });

  it.each(Object.keys(STRICTER))('differs where ours is stricter: %s', (name) => {
    const [official, ours] = STRICTER[name]!;
    expect(runs.official.replies.get(name)).toEqual(official);
    expect(runs.ours.replies.get(name)).toEqual(ours);
  });

  it('asUser(req).pool: the official one runs as the service principal, ours as the user', () => {
    expect(runs.official.replies.get('probe: asUser(req).pool runs as')).toEqual({
      status: 200,
      body: { who: lb.env.PGUSER },
    });
    expect(runs.ours.replies.get('probe: asUser(req).pool runs as')).toEqual({
      status: 200,
      body: { who: ALICE },
    });
  });

  it('both write the official lifecycle lines', () => {
    for (const which of ['official', 'ours'] as const) {
      const lines = runs[which].output
        .split('\n')
        .filter((line) => /^\[appkit:lakebase\] (Lakebase|Closing)/.test(line));
      expect(lines, which).toEqual([
        '[appkit:lakebase] Lakebase SP pool initialized',
        '[appkit:lakebase] Lakebase OBO pool manager initialized',
        '[appkit:lakebase] Closing Lakebase SP pool',
        expect.stringMatching(/^\[appkit:lakebase\] Closing all Lakebase OBO pools \(\d+\)$/),
      ]);
    }
  });

  it('ours ran its startup checks after the setup, with nothing to report, and no token anywhere', () => {
    const ours = runs.ours.output
      .split('\n')
      .filter((line) => line.startsWith('[appkit:lakebase]'));
    expect(ours.filter((line) => line.includes('Startup checks'))).toEqual([
      expect.stringMatching(
        /Startup checks \(lakebase-kit doctor\): no problems found in \d+ checks/,
      ),
    ]);
    for (const which of ['official', 'ours'] as const) {
      expect(runs[which].output, which).not.toMatch(/lbk_/);
    }
  });
});
