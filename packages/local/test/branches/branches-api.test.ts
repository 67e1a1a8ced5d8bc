/**
 * Branches, each a Postgres instance of its own, through the branches API with the documented
 * shapes: create (with an expiration policy, from the default branch or another branch, at an
 * earlier time or LSN within the local retention window), list, get, reset, protect, delete and
 * undelete, expiry (driven by `lb.branches.expireDue`, never by the clock), and isolation:
 * a row written on a branch never shows on its parent, and each branch has its own roles.
 */
import { WorkspaceClient } from '@databricks/sdk-experimental';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type LocalLakebase, startLocalLakebase } from '../../src/index.js';
import {
  connectAt,
  loginErrorAt,
  operationResult,
  postCredentials,
  postgresApi,
} from '../helpers.js';

const ALICE = 'alice@example.com';
const VIEWER = 'viewer@example.com';
const PROJECT = 'projects/local';
let lb: LocalLakebase;

interface BranchJson {
  name: string;
  uid: string;
  branch_id: string;
  parent: string;
  create_time: string;
  spec: Record<string, unknown>;
  status: Record<string, unknown> & { current_state: string };
}

beforeAll(async () => {
  lb = await startLocalLakebase({
    users: [ALICE],
    historyRetentionSeconds: 3600,
    projectPermissions: { [VIEWER]: 'CAN_USE' },
  });
  await lb.sql('create table public.items (id int primary key, label text)');
  await lb.sql(`grant select, insert on public.items to "${ALICE}"`);
  await lb.sql("insert into public.items values (1, 'before any branch')");
});
afterAll(async () => {
  await lb?.stop();
});

const owner = () => lb.projectOwner;
const api = (method: string, path: string, body?: unknown, identity = owner()) =>
  postgresApi(lb, identity, method, path, body);

/** Creates a branch through the API and waits for its operation; the Branch it answers. */
async function create(id: string, spec: Record<string, unknown>): Promise<BranchJson> {
  const done = await operationResult(
    lb,
    owner(),
    await api('POST', `${PROJECT}/branches?branch_id=${id}`, { spec }),
  );
  if (done.error) throw new Error(JSON.stringify(done.error));
  return done.response as BranchJson;
}

async function change(method: string, path: string, body?: unknown) {
  return operationResult(lb, owner(), await api(method, path, body));
}

async function labels(id: string): Promise<number[]> {
  const rows = await lb.branches.get(id)!.sql('select id from public.items order by id');
  return rows.map((row) => row.id as number);
}

/** The server's clock now, as RFC 3339 with microseconds (what `source_branch_time` takes). */
async function serverNow(): Promise<string> {
  const [row] = await lb.sql(
    `select to_char(clock_timestamp() at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"') as t`,
  );
  return row.t as string;
}

describe('creating branches', () => {
  it('with a TTL: a long-running operation whose Branch is READY, with its own endpoint and data', async () => {
    const started = await api('POST', `${PROJECT}/branches?branch_id=feature`, {
      spec: { source_branch: `${PROJECT}/branches/main`, ttl: '3600s' },
    });
    const operation = (await started.clone().json()) as { name: string; done: boolean };
    expect(operation.name).toMatch(
      /^projects\/local\/branches\/feature\/operations\/[0-9a-f-]{36}$/,
    );
    expect(operation.done).toBe(false);
    const branch = (await operationResult(lb, owner(), started)).response as BranchJson;
    expect(branch).toMatchObject({
      name: `${PROJECT}/branches/feature`,
      branch_id: 'feature',
      parent: PROJECT,
      spec: { source_branch: `${PROJECT}/branches/main`, ttl: '3600s', is_protected: false },
      status: {
        branch_id: 'feature',
        current_state: 'READY',
        default: false,
        is_protected: false,
        source_branch: `${PROJECT}/branches/main`,
      },
    });
    expect(branch.uid).toMatch(/^br-/);
    expect(Date.parse(branch.status.expire_time as string) - Date.parse(branch.create_time)).toBe(
      3600_000,
    );
    expect(branch.status.source_branch_lsn).toMatch(/^[0-9A-F]+\/[0-9A-F]+$/);
    // Its read-write endpoint, on a host of its own; a token minted for it logs in there.
    const endpoint = await api('GET', `${PROJECT}/branches/feature/endpoints/primary`);
    const json = (await endpoint.json()) as {
      status: { endpoint_type: string; hosts: { host: string } };
    };
    expect(json.status.endpoint_type).toBe('ENDPOINT_TYPE_READ_WRITE');
    expect(json.status.hosts.host).not.toBe(lb.env.PGHOST);
    const credential = await postCredentials(lb, lb.userToken(ALICE), {
      endpoint: `${PROJECT}/branches/feature/endpoints/primary`,
    });
    const { token } = (await credential.json()) as { token: string };
    const door = { host: json.status.hosts.host, port: lb.portOf(json.status.hosts.host)! };
    const alice = await connectAt(lb, door, ALICE, token);
    const { rows } = await alice.query('select id, label from public.items');
    expect(rows).toEqual([{ id: 1, label: 'before any branch' }]);
    await alice.end();
  });

  it('needs an expiration policy, a valid branch_id, an existing source, CAN_MANAGE', async () => {
    const answer = async (id: string, spec: unknown, identity = owner()) => {
      const response = await api('POST', `${PROJECT}/branches?branch_id=${id}`, { spec }, identity);
      return { status: response.status, ...((await response.json()) as { error_code?: string }) };
    };
    expect(await answer('no-policy', {})).toMatchObject({
      status: 400,
      error_code: 'INVALID_PARAMETER_VALUE',
      message: expect.stringContaining('expiration policy is required'),
    });
    expect(await answer('two', { ttl: '60s', no_expiry: true })).toMatchObject({ status: 400 });
    expect(await answer('false-no-expiry', { no_expiry: false })).toMatchObject({ status: 400 });
    expect(await answer('bad-ttl', { ttl: '1h' })).toMatchObject({ status: 400 });
    expect(await answer('Upper', { no_expiry: true })).toMatchObject({ status: 400 });
    expect(await answer('1starts-with-digit', { no_expiry: true })).toMatchObject({ status: 400 });
    expect(await answer('x'.repeat(64), { no_expiry: true })).toMatchObject({ status: 400 });
    expect(await answer('feature', { no_expiry: true })).toMatchObject({
      status: 409,
      error_code: 'ALREADY_EXISTS',
    });
    expect(
      await answer('orphan', { no_expiry: true, source_branch: `${PROJECT}/branches/nope` }),
    ).toMatchObject({ status: 400 });
    expect(await answer('not-mine', { no_expiry: true }, VIEWER)).toMatchObject({
      status: 403,
      error_code: 'PERMISSION_DENIED',
    });
    expect(await answer('sp', { no_expiry: true }, lb.servicePrincipal.clientId)).toMatchObject({
      status: 403,
    });
  });

  it('from a parent other than main: its data at that moment', async () => {
    const alice = await connectAt(
      lb,
      lb.branches.get('feature')!,
      ALICE,
      lb.mintPgToken(ALICE).token,
    );
    await alice.query("insert into public.items values (10, 'on feature')");
    await alice.end();
    await create('sub', { source_branch: `${PROJECT}/branches/feature`, no_expiry: true });
    expect(await labels('sub')).toEqual([1, 10]);
    expect(await labels('main')).toEqual([1]);
  });

  it('at an earlier time, and at an earlier LSN, within the local retention window', async () => {
    await lb.sql("insert into public.items values (2, 'before the point')");
    const time = await serverNow();
    const lsn = await lb.currentLsn();
    await lb.sql("insert into public.items values (3, 'after the point')");
    const past = await create('at-time', { source_branch_time: time, no_expiry: true });
    expect(past.spec.source_branch_time).toBe(time);
    expect(await labels('at-time')).toEqual([1, 2]);
    const atLsn = await create('at-lsn', { source_branch_lsn: lsn, no_expiry: true });
    expect(atLsn.status.source_branch_lsn).toBe(lsn);
    expect(await labels('at-lsn')).toEqual([1, 2]);
    expect(await labels('main')).toEqual([1, 2, 3]);
  });

  it('before the window, or in the future: refused, saying so (400; BranchHistoryError from code)', async () => {
    const before = await api('POST', `${PROJECT}/branches?branch_id=too-old`, {
      spec: { source_branch_time: '2020-01-01T00:00:00Z', no_expiry: true },
    });
    expect(before.status).toBe(400);
    expect(await before.json()).toMatchObject({
      error_code: 'INVALID_PARAMETER_VALUE',
      message: expect.stringContaining('outside the local retention window'),
    });
    const future = new Date(Date.now() + 3600_000).toISOString();
    const ahead = await api('POST', `${PROJECT}/branches?branch_id=ahead`, {
      spec: { source_branch_time: future, no_expiry: true },
    });
    expect(ahead.status).toBe(400);
    const lsn = await api('POST', `${PROJECT}/branches?branch_id=lsn-ahead`, {
      spec: { source_branch_lsn: 'FF/0', no_expiry: true },
    });
    expect(lsn.status).toBe(400);
    await expect(lb.branches.create('from-code', { at: '0/1' })).rejects.toMatchObject({
      name: 'BranchHistoryError',
    });
    // Only the main branch keeps history.
    const fromBranch = await api('POST', `${PROJECT}/branches?branch_id=sub-past`, {
      spec: {
        source_branch: `${PROJECT}/branches/feature`,
        source_branch_lsn: await lb.currentLsn(),
        no_expiry: true,
      },
    });
    expect(fromBranch.status).toBe(400);
    expect((await api('GET', `${PROJECT}/branches/too-old`)).status).toBe(404);
  });

  it('through the Databricks SDK API client too', async () => {
    const client = new WorkspaceClient({
      host: lb.host,
      token: lb.userToken(owner()),
      authType: 'pat',
    });
    const operation = (await client.apiClient.request({
      path: `/api/2.0/postgres/${PROJECT}/branches`,
      method: 'POST',
      headers: new Headers({ 'Content-Type': 'application/json' }),
      raw: false,
      query: { branch_id: 'via-sdk' },
      payload: { spec: { no_expiry: true } },
    })) as { name: string };
    expect(operation.name).toContain(`${PROJECT}/branches/via-sdk/operations/`);
    let done = { done: false } as { done: boolean; response?: BranchJson };
    while (!done.done) {
      done = (await client.apiClient.request({
        path: `/api/2.0/postgres/${operation.name}`,
        method: 'GET',
        headers: new Headers(),
        raw: false,
      })) as typeof done;
    }
    expect(done.response?.status.current_state).toBe('READY');
  });
});

describe('a branch is isolated', () => {
  it('a row written on a branch never appears on its parent (nor one written on the parent on it)', async () => {
    await lb.branches.get('feature')!.sql("insert into public.items values (11, 'feature only')");
    await lb.sql("insert into public.items values (4, 'main only')");
    expect(await labels('feature')).toEqual([1, 10, 11]);
    expect(await labels('main')).toEqual([1, 2, 3, 4]);
    expect(await labels('sub')).toEqual([1, 10]);
  });

  it("a branch's door checks every login as every door does", async () => {
    const door = lb.branches.get('feature')!;
    expect((await loginErrorAt(lb, door, ALICE, '')).code).toBe('28P01');
    expect((await loginErrorAt(lb, door, ALICE, 'wrong-password')).code).toBe('28P01');
    const sp = lb.servicePrincipal.clientId;
    expect((await loginErrorAt(lb, door, sp, lb.mintPgToken(ALICE).token)).code).toBe('28P01');
    expect((await loginErrorAt(lb, door, 'postgres', lb.mintPgToken('postgres').token)).code).toBe(
      '28P01',
    );
    const client = await connectAt(lb, door, sp, lb.mintPgToken(sp).token);
    expect((await client.query('select current_user as u')).rows[0].u).toBe(sp);
    await client.end();
  });

  it('each branch has its own roles (the roles API per branch; addUser only on main)', async () => {
    const role = await change('POST', `${PROJECT}/branches/feature/roles`, {
      spec: { identity_type: 'USER', postgres_role: 'branchy@example.com' },
    });
    expect(role.response).toMatchObject({
      name: `${PROJECT}/branches/feature/roles/branchy-example-com`,
    });
    const feature = lb.branches.get('feature')!;
    const there = await connectAt(
      lb,
      feature,
      'branchy@example.com',
      lb.mintPgToken('branchy@example.com').token,
    );
    await there.end();
    const main = { host: lb.env.PGHOST, port: lb.proxyPort };
    const here = await loginErrorAt(
      lb,
      main,
      'branchy@example.com',
      lb.mintPgToken('branchy@example.com').token,
    );
    expect(here.code).toBe('28P01');
    expect((await api('GET', `${PROJECT}/branches/main/roles/branchy-example-com`)).status).toBe(
      404,
    );
    await lb.addUser('main-only@example.com');
    const missing = await loginErrorAt(
      lb,
      feature,
      'main-only@example.com',
      lb.mintPgToken('main-only@example.com').token,
    );
    expect(missing.code).toBe('28P01');
  });
});

describe("a branch's endpoints", () => {
  it('a READ_ONLY endpoint of a branch is a streaming replica of that branch; READ_WRITE is one per branch', async () => {
    const done = await change(
      'POST',
      `${PROJECT}/branches/feature/endpoints?endpoint_id=feature-ro`,
      {
        spec: { endpoint_type: 'ENDPOINT_TYPE_READ_ONLY' },
      },
    );
    const endpoint = done.response as { name: string; status: { hosts: Record<string, string> } };
    expect(endpoint.status.hosts.read_only_host).toBe(endpoint.status.hosts.host);
    const door = {
      host: endpoint.status.hosts.host!,
      port: lb.portOf(endpoint.status.hosts.host!)!,
    };
    const alice = await connectAt(lb, door, ALICE, lb.mintPgToken(ALICE).token);
    const { rows } = await alice.query(
      'select pg_is_in_recovery() as standby, array_agg(id order by id) as ids from public.items',
    );
    expect(rows[0]).toEqual({ standby: true, ids: [1, 10, 11] });
    await alice.end();
    const second = await api('POST', `${PROJECT}/branches/feature/endpoints?endpoint_id=rw`, {
      spec: { endpoint_type: 'ENDPOINT_TYPE_READ_WRITE' },
    });
    expect(second.status).toBe(400);
    await change('DELETE', endpoint.name);
    const list = (await (await api('GET', `${PROJECT}/branches/feature/endpoints`)).json()) as {
      endpoints: { endpoint_id: string }[];
    };
    expect(list.endpoints.map((e) => e.endpoint_id)).toEqual(['primary']);
  });
});

describe('listing and reading', () => {
  it('lists branches (paged; deleted ones only with show_deleted); CAN_USE reads', async () => {
    const all = await api('GET', `${PROJECT}/branches`, undefined, VIEWER);
    const { branches } = (await all.json()) as { branches: BranchJson[] };
    expect(branches.map((b) => b.branch_id)).toEqual([
      'at-lsn',
      'at-time',
      'feature',
      'main',
      'sub',
      'via-sdk',
    ]);
    const main = branches.find((b) => b.branch_id === 'main')!;
    expect(main).toMatchObject({
      spec: { no_expiry: true, is_protected: false },
      status: { current_state: 'READY', default: true },
    });
    const first = (await (
      await api('GET', `${PROJECT}/branches?page_size=2`, undefined, VIEWER)
    ).json()) as {
      branches: BranchJson[];
      next_page_token: string;
    };
    expect(first.branches.map((b) => b.branch_id)).toEqual(['at-lsn', 'at-time']);
    const next = (await (
      await api(
        'GET',
        `${PROJECT}/branches?page_size=2&page_token=${first.next_page_token}`,
        undefined,
        VIEWER,
      )
    ).json()) as { branches: BranchJson[] };
    expect(next.branches.map((b) => b.branch_id)).toEqual(['feature', 'main']);
    const sp = await api('GET', `${PROJECT}/branches`, undefined, lb.servicePrincipal.clientId);
    expect(sp.status).toBe(403);
  });

  it('gets one branch; an unknown one is 404', async () => {
    const got = (await (
      await api('GET', `${PROJECT}/branches/sub`, undefined, VIEWER)
    ).json()) as BranchJson;
    expect(got).toMatchObject({
      branch_id: 'sub',
      status: { source_branch: `${PROJECT}/branches/feature` },
    });
    expect((await api('GET', `${PROJECT}/branches/nope`)).status).toBe(404);
  });
});

describe('changing branches', () => {
  it('reset from parent: the parent data now, the branch-only rows gone, roles as the parent', async () => {
    await create('scratch', { ttl: '7200s' });
    await lb.branches.get('scratch')!.sql("insert into public.items values (20, 'scratch only')");
    await change('POST', `${PROJECT}/branches/scratch/roles`, {
      spec: { identity_type: 'USER', postgres_role: 'scratchy@example.com' },
    });
    expect(
      (await api('GET', `${PROJECT}/branches/scratch/roles/scratchy-example-com`)).status,
    ).toBe(200);
    await lb.sql("insert into public.items values (5, 'main after scratch')");
    const reset = await change('POST', `${PROJECT}/branches/scratch/reset`);
    expect(reset.response).toMatchObject({ status: { current_state: 'READY' } });
    expect(await labels('scratch')).toEqual([1, 2, 3, 4, 5]);
    expect(
      (await api('GET', `${PROJECT}/branches/scratch/roles/scratchy-example-com`)).status,
    ).toBe(404);
    // The door stayed: same host and port, new data behind it.
    const alice = await connectAt(
      lb,
      lb.branches.get('scratch')!,
      ALICE,
      lb.mintPgToken(ALICE).token,
    );
    expect((await alice.query('select count(*)::int as n from public.items')).rows[0].n).toBe(5);
    await alice.end();
    const mainReset = await api('POST', `${PROJECT}/branches/main/reset`);
    expect(mainReset.status).toBe(400);
  });

  it('protect: a protected branch cannot be deleted or reset, nor its compute; one per project', async () => {
    const protect = await change(
      'PATCH',
      `${PROJECT}/branches/scratch?update_mask=spec.is_protected`,
      {
        spec: { is_protected: true },
      },
    );
    expect(protect.response).toMatchObject({
      spec: { is_protected: true },
      status: { is_protected: true },
    });
    for (const [method, path] of [
      ['DELETE', `${PROJECT}/branches/scratch`],
      ['POST', `${PROJECT}/branches/scratch/reset`],
      ['DELETE', `${PROJECT}/branches/scratch/endpoints/primary`],
    ] as const) {
      const refused = await api(method, path);
      expect(refused.status, `${method} ${path}`).toBe(400);
      expect(await refused.json()).toMatchObject({ error_code: 'FAILED_PRECONDITION' });
    }
    const second = await api('PATCH', `${PROJECT}/branches/feature?update_mask=spec.is_protected`, {
      spec: { is_protected: true },
    });
    expect(second.status).toBe(400);
    expect(((await second.json()) as { message: string }).message).toContain(
      'one protected branch',
    );
    const noMask = await api('PATCH', `${PROJECT}/branches/scratch`, {
      spec: { is_protected: false },
    });
    expect(noMask.status).toBe(400);
    const viewer = await api(
      'PATCH',
      `${PROJECT}/branches/scratch?update_mask=spec.is_protected`,
      { spec: { is_protected: false } },
      VIEWER,
    );
    expect(viewer.status).toBe(403);
    await change('PATCH', `${PROJECT}/branches/scratch?update_mask=spec.is_protected`, {
      spec: { is_protected: false },
    });
  });

  it('delete is soft: DELETED, its endpoint gone, listed only with show_deleted; undelete brings it back', async () => {
    const host = lb.branches.get('scratch')!.host;
    const children = await api('DELETE', `${PROJECT}/branches/feature`);
    expect(children.status).toBe(400); // feature has a child branch (sub)
    const deleted = await change('DELETE', `${PROJECT}/branches/scratch`);
    const json = deleted.response as BranchJson;
    expect(json.status.current_state).toBe('DELETED');
    expect(Date.parse(json.status.purge_time as string)).toBeGreaterThan(
      Date.parse(json.status.delete_time as string),
    );
    expect(lb.branches.get('scratch')).toBeUndefined();
    expect(lb.portOf(host)).toBeUndefined();
    const credential = await postCredentials(lb, lb.userToken(ALICE), {
      endpoint: `${PROJECT}/branches/scratch/endpoints/primary`,
    });
    expect(credential.status).toBe(404);
    const listed = (await (await api('GET', `${PROJECT}/branches`)).json()) as {
      branches: BranchJson[];
    };
    expect(listed.branches.map((b) => b.branch_id)).not.toContain('scratch');
    const all = (await (await api('GET', `${PROJECT}/branches?show_deleted=true`)).json()) as {
      branches: BranchJson[];
    };
    expect(all.branches.find((b) => b.branch_id === 'scratch')?.status.current_state).toBe(
      'DELETED',
    );
    const undeleted = await change('POST', `${PROJECT}/branches/scratch/undelete`);
    expect((undeleted.response as BranchJson).status.current_state).toBe('READY');
    expect(await labels('scratch')).toEqual([1, 2, 3, 4, 5]);
    await change('DELETE', `${PROJECT}/branches/scratch?purge=true`);
    expect((await api('GET', `${PROJECT}/branches/scratch`)).status).toBe(404);
    expect((await api('DELETE', `${PROJECT}/branches/main`)).status).toBe(400);
  });

  it('expiry: at its expire_time a branch is deleted as if by the API; others stay', async () => {
    const short = await create('short-lived', { ttl: '600s' });
    const until = await create('until', {
      expire_time: new Date(Date.now() + 3600_000).toISOString(),
    });
    expect(await lb.branches.expireDue(new Date(Date.parse(short.create_time) + 599_000))).toEqual(
      [],
    );
    const expired = await lb.branches.expireDue(new Date(Date.parse(short.create_time) + 600_000));
    expect(expired).toEqual([`${PROJECT}/branches/short-lived`]);
    const gone = (await (await api('GET', `${PROJECT}/branches/short-lived`)).json()) as BranchJson;
    expect(gone.status.current_state).toBe('DELETED');
    expect(lb.branches.get('short-lived')).toBeUndefined();
    expect(lb.branches.list()).toContain('until');
    expect(lb.branches.list()).toContain('feature'); // 3600s TTL, but it has a child
    // The expiration can be changed (update_mask=spec.expiration).
    const extended = await change(
      'PATCH',
      `${PROJECT}/branches/until?update_mask=spec.expiration`,
      {
        spec: { no_expiry: true },
      },
    );
    expect((extended.response as BranchJson).spec).toMatchObject({ no_expiry: true });
    expect((extended.response as BranchJson).status.expire_time).toBeUndefined();
    expect(Date.parse(until.status.expire_time as string)).toBeGreaterThan(Date.now());
    // A month on: nothing else expires (feature's TTL has passed, but it has a child branch),
    // and the expired branch, deleted a week before, is purged.
    expect(await lb.branches.expireDue(new Date(Date.now() + 30 * 24 * 3600_000))).toEqual([]);
    expect((await api('GET', `${PROJECT}/branches/short-lived`)).status).toBe(404);
    expect(lb.branches.list()).toContain('feature');
  });
});
