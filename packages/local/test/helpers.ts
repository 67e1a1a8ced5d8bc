import pg from 'pg';
import type { LocalLakebase } from '../src/index.js';

/** node-postgres `ssl` for the proxy: verify against the local CA (plaintext with `tls: false`). */
export function clientSsl(lb: LocalLakebase): pg.ClientConfig['ssl'] {
  return lb.tls ? { ca: lb.tls.caPem, rejectUnauthorized: true } : false;
}

/** A connected pg.Client through the proxy; errors emitted later are collected in `errors`. */
export async function connectAs(
  lb: LocalLakebase,
  user: string,
  password: string,
): Promise<pg.Client & { errors: Error[] }> {
  const client = new pg.Client({
    host: '127.0.0.1',
    port: lb.proxyPort,
    user,
    password,
    database: lb.database,
    ssl: clientSsl(lb),
  }) as pg.Client & { errors: Error[] };
  client.errors = [];
  client.on('error', (error) => client.errors.push(error));
  await client.connect();
  return client;
}

/** A door of the local Lakebase: the main one, a pooled host, a replica, a branch. */
export interface Door {
  host: string;
  port: number;
}

/** A connected pg.Client at `door` (TLS verified against the local CA, host name included). */
export async function connectAt(
  lb: LocalLakebase,
  door: Door,
  user: string,
  password: string,
  database = lb.database,
): Promise<pg.Client & { errors: Error[] }> {
  const client = new pg.Client({
    host: door.host,
    port: door.port,
    user,
    password,
    database,
    ssl: clientSsl(lb),
  }) as pg.Client & { errors: Error[] };
  client.errors = [];
  client.on('error', (error) => client.errors.push(error));
  await client.connect();
  return client;
}

/** Logs in at `door`, expecting failure; returns the error. */
export async function loginErrorAt(
  lb: LocalLakebase,
  door: Door,
  user: string,
  password: string,
  database = lb.database,
): Promise<Error & { code?: string }> {
  const client = await connectAt(lb, door, user, password, database).catch(
    (error: Error & { code?: string }) => error,
  );
  if (client instanceof Error) return client;
  await client.end();
  throw new Error(`logging in as ${user} at ${door.host}:${door.port} unexpectedly succeeded`);
}

/** Connects, expecting failure; returns the error (pg's DatabaseError has a `code`). */
export async function connectError(
  lb: LocalLakebase,
  user: string,
  password: string,
): Promise<Error & { code?: string }> {
  const client = new pg.Client({
    host: '127.0.0.1',
    port: lb.proxyPort,
    user,
    password,
    database: lb.database,
    ssl: clientSsl(lb),
  });
  client.on('error', () => undefined);
  try {
    await client.connect();
  } catch (error) {
    return error as Error & { code?: string };
  }
  await client.end();
  throw new Error(`connecting as ${user} unexpectedly succeeded`);
}

/** POST /api/2.0/postgres/credentials with a bearer token, via fetch. */
export function postCredentials(
  lb: LocalLakebase,
  bearer: string,
  body: unknown = { endpoint: lb.endpoint },
): Promise<Response> {
  return fetch(`${lb.host}/api/2.0/postgres/credentials`, {
    method: 'POST',
    headers: { authorization: `Bearer ${bearer}`, 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
}

/** An SP access token from the OAuth token endpoint (client credentials). */
export async function spAccessToken(lb: LocalLakebase): Promise<string> {
  const { clientId, clientSecret } = lb.servicePrincipal;
  const response = await fetch(`${lb.host}/oidc/v1/token`, {
    method: 'POST',
    headers: {
      authorization: `Basic ${Buffer.from(`${clientId}:${clientSecret}`).toString('base64')}`,
      'content-type': 'application/x-www-form-urlencoded',
    },
    body: 'grant_type=client_credentials&scope=all-apis',
  });
  if (response.status !== 200) throw new Error(`token endpoint answered ${response.status}`);
  return ((await response.json()) as { access_token: string }).access_token;
}

/** Polls `condition` (no fixed sleeps in assertions; a bounded wait for an event). */
export async function waitFor(
  condition: () => boolean,
  what: string,
  ms = 10_000,
  probe?: () => Promise<void>,
): Promise<void> {
  const deadline = Date.now() + ms;
  while (true) {
    await probe?.();
    if (condition()) return;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

/**
 * True when `promise` has not settled after the event loop turned a few times. Only meaningful
 * once a signal says the thing is held (e.g. `stats().heldConnections`): no wall-clock wait.
 */
export async function isPending(promise: Promise<unknown>): Promise<boolean> {
  let settled = false;
  promise.then(
    () => {
      settled = true;
    },
    () => {
      settled = true;
    },
  );
  for (let i = 0; i < 5; i++) await new Promise((resolve) => setImmediate(resolve));
  return !settled;
}

/** A call of the Lakebase API (`/api/2.0/postgres/<path>`) as `identity`. */
export function postgresApi(
  lb: LocalLakebase,
  identity: string,
  method: string,
  path: string,
  body?: unknown,
): Promise<Response> {
  return fetch(`${lb.host}/api/2.0/postgres/${path}`, {
    method,
    headers: {
      authorization: `Bearer ${lb.userToken(identity)}`,
      ...(body === undefined ? {} : { 'content-type': 'application/json' }),
    },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
}

/** Polls a long-running operation until done (a signal: the operation's own state). */
export async function operationResult(
  lb: LocalLakebase,
  identity: string,
  started: Response,
): Promise<{ name: string; done: boolean; response?: unknown; error?: unknown }> {
  if (started.status !== 200) {
    throw new Error(`the call answered ${started.status}: ${await started.text()}`);
  }
  let operation = (await started.json()) as { name: string; done: boolean };
  const deadline = Date.now() + 30_000;
  while (!operation.done) {
    if (Date.now() > deadline) throw new Error(`operation ${operation.name} never finished`);
    await new Promise((resolve) => setTimeout(resolve, 10));
    const polled = await postgresApi(lb, identity, 'GET', operation.name);
    operation = (await polled.json()) as typeof operation;
  }
  return operation;
}

/** A call of the roles API under `lb.branch` as `identity` (a new access token of theirs). */
export function rolesApi(
  lb: LocalLakebase,
  identity: string,
  method: string,
  path: string,
  body?: unknown,
): Promise<Response> {
  return fetch(`${lb.host}/api/2.0/postgres/${lb.branch}${path}`, {
    method,
    headers: {
      authorization: `Bearer ${lb.userToken(identity)}`,
      ...(body === undefined ? {} : { 'content-type': 'application/json' }),
    },
    body: body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body),
  });
}
