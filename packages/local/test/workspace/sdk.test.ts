import { WorkspaceClient } from '@databricks/sdk-experimental';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type LocalLakebase, startLocalLakebase } from '../../src/index.js';
import { clientSsl, connectAs, postCredentials, spAccessToken } from '../helpers.js';

const ALICE = 'alice@example.com';
let lb: LocalLakebase;
const logLines: string[] = [];

beforeAll(async () => {
  lb = await startLocalLakebase({ users: [ALICE], log: (line) => logLines.push(line) });
});
afterAll(async () => {
  await lb?.stop();
});

function spClient(): WorkspaceClient {
  return new WorkspaceClient({
    host: lb.env.DATABRICKS_HOST,
    clientId: lb.env.DATABRICKS_CLIENT_ID,
    clientSecret: lb.env.DATABRICKS_CLIENT_SECRET,
    authType: 'oauth-m2m',
  });
}

async function sdkCredential(client: WorkspaceClient, endpoint = lb.endpoint) {
  return (await client.apiClient.request({
    path: '/api/2.0/postgres/credentials',
    method: 'POST',
    headers: new Headers({ 'Content-Type': 'application/json' }),
    raw: false,
    payload: { endpoint },
  })) as { token: string; expire_time: string };
}

describe('fake workspace API with the real Databricks SDK', () => {
  it('env has every variable, PGUSER is the SP client id (a UUID)', () => {
    expect(lb.env.PGUSER).toBe(lb.servicePrincipal.clientId);
    expect(lb.env.PGUSER).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/);
    expect(lb.env.PGPORT).toBe(String(lb.proxyPort));
    expect(lb.env.PGSSLMODE).toBe('require');
    expect(lb.env.PGSSLROOTCERT).toBe(lb.tls!.caFile);
    expect(lb.env.PGDATABASE).toBe('databricks_postgres');
    expect(lb.env.LAKEBASE_ENDPOINT).toBe('projects/local/branches/main/endpoints/primary');
    expect(lb.env.DATABRICKS_HOST).toBe(`http://127.0.0.1:${lb.apiPort}`);
  });

  it('M2M OAuth: currentUser.me() is the SP; a minted token logs in as the SP', async () => {
    const client = spClient();
    const me = await client.currentUser.me();
    expect(me.userName).toBe(lb.servicePrincipal.clientId);
    const credential = await sdkCredential(client);
    expect(credential.expire_time).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);
    const lifetime = Date.parse(credential.expire_time) - Date.now();
    expect(lifetime).toBeGreaterThan(3500_000);
    expect(lifetime).toBeLessThanOrEqual(3600_000);
    const pgClient = await connectAs(lb, lb.env.PGUSER, credential.token);
    const { rows } = await pgClient.query('select current_user');
    expect(rows[0].current_user).toBe(lb.servicePrincipal.clientId);
    await pgClient.end();
    expect(lb.stats().credentialCalls[lb.servicePrincipal.clientId]).toBe(1);
  });

  it('a user bearer token mints a Postgres token for that user', async () => {
    const user = new WorkspaceClient({
      host: lb.host,
      token: lb.userToken(ALICE),
      authType: 'pat',
    });
    expect((await user.currentUser.me()).userName).toBe(ALICE);
    const credential = await sdkCredential(user);
    const pgClient = await connectAs(lb, ALICE, credential.token);
    expect((await pgClient.query('select current_user')).rows[0].current_user).toBe(ALICE);
    await pgClient.end();
  });

  it('every userToken() is new and all stay valid; SCIM Me carries the org id header', async () => {
    const first = lb.userToken(ALICE);
    const second = lb.userToken(ALICE);
    expect(first).not.toBe(second);
    for (const token of [first, second]) {
      const response = await fetch(`${lb.host}/api/2.0/preview/scim/v2/Me`, {
        headers: { authorization: `Bearer ${token}` },
      });
      expect(response.status).toBe(200);
      expect(response.headers.get('x-databricks-org-id')).toMatch(/^\d+$/);
      const body = (await response.json()) as { userName: string; emails: { value: string }[] };
      expect(body.userName).toBe(ALICE);
      expect(body.emails[0]!.value).toBe(ALICE);
    }
  });

  it('userHeaders adds the user and gives the Databricks Apps forwarded headers', async () => {
    const headers = await lb.userHeaders('carol@example.com');
    expect(headers['x-forwarded-email']).toBe('carol@example.com');
    expect(headers['x-forwarded-preferred-username']).toBe('carol@example.com');
    expect(headers['x-forwarded-user']).toMatch(/^\d+$/);
    const response = await postCredentials(lb, headers['x-forwarded-access-token']!);
    const { token } = (await response.json()) as { token: string };
    const pgClient = await connectAs(lb, 'carol@example.com', token);
    const { rows } = await pgClient.query(
      'select rolsuper, rolbypassrls from pg_roles where rolname = current_user',
    );
    expect(rows[0]).toEqual({ rolsuper: false, rolbypassrls: false });
    await pgClient.end();
  });

  it('token endpoint: wrong secret → 401 invalid_client; form-field credentials work', async () => {
    const wrong = await fetch(`${lb.host}/oidc/v1/token`, {
      method: 'POST',
      headers: {
        authorization: `Basic ${Buffer.from(`${lb.servicePrincipal.clientId}:nope`).toString('base64')}`,
        'content-type': 'application/x-www-form-urlencoded',
      },
      body: 'grant_type=client_credentials&scope=all-apis',
    });
    expect(wrong.status).toBe(401);
    expect(((await wrong.json()) as { error: string }).error).toBe('invalid_client');
    const form = new URLSearchParams({
      grant_type: 'client_credentials',
      scope: 'all-apis',
      client_id: lb.servicePrincipal.clientId,
      client_secret: lb.servicePrincipal.clientSecret,
    });
    const ok = await fetch(`${lb.host}/oidc/v1/token`, { method: 'POST', body: form });
    expect(ok.status).toBe(200);
    const body = (await ok.json()) as { token_type: string; expires_in: number };
    expect(body.token_type).toBe('Bearer');
    expect(body.expires_in).toBe(3600);
  });

  it('unknown or expired bearer → 401 UNAUTHENTICATED; the SP PAT works', async () => {
    for (const bearer of ['nope', lb.userToken(ALICE, { ttlSeconds: -1 })]) {
      const response = await postCredentials(lb, bearer);
      expect(response.status).toBe(401);
      expect(((await response.json()) as { error_code: string }).error_code).toBe(
        'UNAUTHENTICATED',
      );
    }
    const viaPat = await postCredentials(lb, lb.servicePrincipal.pat);
    expect(viaPat.status).toBe(200);
  });

  it('endpoint validation: malformed → 400, other endpoint → 404, other path → 404', async () => {
    const bearer = await spAccessToken(lb);
    const malformed = await postCredentials(lb, bearer, { endpoint: 'projects/x' });
    expect(malformed.status).toBe(400);
    expect(((await malformed.json()) as { error_code: string }).error_code).toBe(
      'INVALID_PARAMETER_VALUE',
    );
    const missing = await postCredentials(lb, bearer, {});
    expect(missing.status).toBe(400);
    const other = await postCredentials(lb, bearer, {
      endpoint: 'projects/p/branches/b/endpoints/other',
    });
    expect(other.status).toBe(404);
    expect(((await other.json()) as { error_code: string }).error_code).toBe('NOT_FOUND');
    const unknown = await fetch(`${lb.host}/api/2.0/nothing`);
    expect(unknown.status).toBe(404);
    expect(((await unknown.json()) as { error_code: string }).error_code).toBe(
      'ENDPOINT_NOT_FOUND',
    );
  });

  it('the SDK surfaces a 404 for an unknown endpoint', async () => {
    await expect(
      sdkCredential(spClient(), 'projects/p/branches/b/endpoints/other'),
    ).rejects.toMatchObject({ errorCode: 'NOT_FOUND' });
  });

  it('never logs a token value', async () => {
    const credential = await sdkCredential(spClient());
    const bad = new pg.Client({
      host: '127.0.0.1',
      port: lb.proxyPort,
      user: ALICE,
      password: credential.token,
      database: lb.database,
      ssl: clientSsl(lb),
    });
    await expect(bad.connect()).rejects.toMatchObject({ code: '28P01' });
    expect(logLines.length).toBeGreaterThan(0);
    const all = logLines.join('\n');
    expect(all).not.toContain(credential.token);
    expect(all).not.toContain(lb.servicePrincipal.clientSecret);
    expect(all).not.toMatch(/lbk_(pg|at)_/);
  });
});
