/**
 * The endpoints API, through the real Databricks SDK's API client: the shapes of the public
 * API reference (`status.hosts`, `endpoint_type`, `current_state`), every host a different
 * loopback address whose TLS certificate verifies (host name included), and create/delete of
 * a read-only endpoint (a new streaming replica) as a long-running operation.
 */
import { WorkspaceClient } from '@databricks/sdk-experimental';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type LocalLakebase, startLocalLakebase } from '../../src/index.js';
import { connectAt, operationResult, postCredentials, postgresApi } from '../helpers.js';

const ALICE = 'alice@example.com';
const VIEWER = 'viewer@example.com';
let lb: LocalLakebase;

beforeAll(async () => {
  lb = await startLocalLakebase({
    users: [ALICE],
    replicas: 1,
    pooler: true,
    projectPermissions: { [VIEWER]: 'CAN_USE' },
  });
});
afterAll(async () => {
  await lb?.stop();
});

interface EndpointJson {
  name: string;
  uid: string;
  endpoint_id: string;
  parent: string;
  spec: { endpoint_type: string };
  status: {
    endpoint_type: string;
    current_state: string;
    hosts: Record<string, string>;
  };
}

function ownerSdk(): WorkspaceClient {
  return new WorkspaceClient({
    host: lb.host,
    token: lb.userToken(lb.projectOwner),
    authType: 'pat',
  });
}

const getEndpoint = (client: WorkspaceClient, name: string) =>
  client.apiClient.request({
    path: `/api/2.0/postgres/${name}`,
    method: 'GET',
    headers: new Headers(),
    raw: false,
  }) as Promise<EndpointJson>;

describe('the endpoints API', () => {
  it('GET the main endpoint: READ_WRITE, ACTIVE, its direct and pooled hosts', async () => {
    const endpoint = await getEndpoint(ownerSdk(), lb.endpoint);
    expect(endpoint).toMatchObject({
      name: 'projects/local/branches/main/endpoints/primary',
      endpoint_id: 'primary',
      parent: 'projects/local/branches/main',
      spec: { endpoint_type: 'ENDPOINT_TYPE_READ_WRITE' },
      status: {
        endpoint_type: 'ENDPOINT_TYPE_READ_WRITE',
        current_state: 'ACTIVE',
        hosts: { host: lb.env.PGHOST, read_write_pooled_host: lb.pooler!.host },
      },
    });
    expect(endpoint.uid).toMatch(/^ep-[0-9a-f]+$/);
    expect(endpoint.status.hosts.read_only_host).toBeUndefined();
  });

  it('the replica is a READ_ONLY endpoint: host, read_only_host, read_only_pooled_host', async () => {
    const replica = lb.replicas[0]!;
    const endpoint = await getEndpoint(ownerSdk(), replica.endpoint);
    expect(endpoint.status).toMatchObject({
      endpoint_type: 'ENDPOINT_TYPE_READ_ONLY',
      current_state: 'ACTIVE',
      hosts: {
        host: replica.host,
        read_only_host: replica.host,
        read_only_pooled_host: replica.pooler!.host,
      },
    });
  });

  it('every host is a different address, and TLS verifies each one by its own name', async () => {
    const replica = lb.replicas[0]!;
    const doors = [
      { host: lb.env.PGHOST, port: lb.proxyPort },
      lb.pooler!,
      replica,
      replica.pooler!,
    ];
    expect(new Set(doors.map((door) => door.host)).size).toBe(4);
    for (const door of doors) {
      // clientSsl: the local CA, rejectUnauthorized, and Node's host-name check against the SAN.
      const client = await connectAt(lb, door, ALICE, lb.mintPgToken(ALICE).token);
      expect((await client.query('select 1 as one')).rows[0].one).toBe(1);
      await client.end();
    }
  });

  it('lists the branch endpoints, paged; scale to zero shows as IDLE', async () => {
    const all = await postgresApi(lb, VIEWER, 'GET', `${lb.branch}/endpoints`);
    const { endpoints } = (await all.json()) as { endpoints: EndpointJson[] };
    expect(endpoints.map((e) => e.endpoint_id)).toEqual(['primary', 'read-replica-1']);
    const first = await postgresApi(lb, VIEWER, 'GET', `${lb.branch}/endpoints?page_size=1`);
    const page = (await first.json()) as { endpoints: EndpointJson[]; next_page_token: string };
    expect(page.endpoints).toHaveLength(1);
    const next = await postgresApi(
      lb,
      VIEWER,
      'GET',
      `${lb.branch}/endpoints?page_size=1&page_token=${page.next_page_token}`,
    );
    expect(((await next.json()) as { endpoints: EndpointJson[] }).endpoints[0]!.endpoint_id).toBe(
      'read-replica-1',
    );
    await lb.faults.suspend();
    const idle = await getEndpoint(ownerSdk(), lb.endpoint);
    expect(idle.status.current_state).toBe('IDLE');
    lb.faults.wake();
    expect((await getEndpoint(ownerSdk(), lb.endpoint)).status.current_state).toBe('ACTIVE');
  });

  it('reading needs CAN_USE on the project (an endpoint: or being the app’s SP); unknown endpoints and branches are 404', async () => {
    const sp = (path: string) =>
      fetch(`${lb.host}/api/2.0/postgres/${path}`, {
        headers: { authorization: `Bearer ${lb.servicePrincipal.pat}` },
      });
    // the app's service principal reads its endpoint (the startup host checks), not the list
    expect((await sp(lb.endpoint)).status).toBe(200);
    const list = await sp(`${lb.branch}/endpoints`);
    expect(list.status).toBe(403);
    expect(await list.json()).toMatchObject({ error_code: 'PERMISSION_DENIED' });
    const plain = await postgresApi(lb, ALICE, 'GET', lb.endpoint);
    expect(plain.status).toBe(403);
    const missing = await postgresApi(lb, VIEWER, 'GET', `${lb.branch}/endpoints/nope`);
    expect(missing.status).toBe(404);
    const otherBranch = await postgresApi(
      lb,
      VIEWER,
      'GET',
      'projects/local/branches/nope/endpoints/primary',
    );
    expect(otherBranch.status).toBe(404);
  });

  it('create a READ_ONLY endpoint (a new replica) and delete it; each a long-running operation', async () => {
    const body = { spec: { endpoint_type: 'ENDPOINT_TYPE_READ_ONLY' } };
    const denied = await postgresApi(
      lb,
      VIEWER,
      'POST',
      `${lb.branch}/endpoints?endpoint_id=ro-2`,
      body,
    );
    expect(denied.status).toBe(403);
    const started = await postgresApi(
      lb,
      lb.projectOwner,
      'POST',
      `${lb.branch}/endpoints?endpoint_id=ro-2`,
      body,
    );
    const done = await operationResult(lb, lb.projectOwner, started);
    const created = done.response as EndpointJson;
    expect(created).toMatchObject({
      name: `${lb.branch}/endpoints/ro-2`,
      status: { endpoint_type: 'ENDPOINT_TYPE_READ_ONLY', current_state: 'ACTIVE' },
    });
    // A token minted for it logs in at its host, on a standby.
    const answer = await postCredentials(lb, lb.userToken(ALICE), { endpoint: created.name });
    const { token } = (await answer.json()) as { token: string };
    const port = lb.portOf(created.status.hosts.host!)!;
    const alice = await connectAt(lb, { host: created.status.hosts.host!, port }, ALICE, token);
    expect((await alice.query('select pg_is_in_recovery() as r')).rows[0].r).toBe(true);
    await alice.end();

    const second = await postgresApi(
      lb,
      lb.projectOwner,
      'POST',
      `${lb.branch}/endpoints?endpoint_id=rw-2`,
      {
        spec: { endpoint_type: 'ENDPOINT_TYPE_READ_WRITE' },
      },
    );
    expect(second.status).toBe(400);
    expect(await second.json()).toMatchObject({ error_code: 'FAILED_PRECONDITION' });
    const bad = await postgresApi(
      lb,
      lb.projectOwner,
      'POST',
      `${lb.branch}/endpoints?endpoint_id=Bad_Id`,
      body,
    );
    expect(bad.status).toBe(400);
    const fixed = await postgresApi(lb, lb.projectOwner, 'DELETE', lb.endpoint);
    expect(fixed.status).toBe(400);

    const removed = await operationResult(
      lb,
      lb.projectOwner,
      await postgresApi(lb, lb.projectOwner, 'DELETE', created.name),
    );
    expect(removed.done).toBe(true);
    expect((await postgresApi(lb, VIEWER, 'GET', created.name)).status).toBe(404);
    const gone = await postCredentials(lb, lb.userToken(ALICE), { endpoint: created.name });
    expect(gone.status).toBe(404);
  });
});
