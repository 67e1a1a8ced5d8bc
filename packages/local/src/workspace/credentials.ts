/**
 * `POST /api/2.0/postgres/credentials`: a Postgres token for the caller's identity (or, with
 * `group_name`, for a workspace group the caller is in), with the switchable faults.
 */
import type http from 'node:http';
import type { EndpointCatalog } from '../base/endpoint-types.js';
import type { Log } from '../base/types.js';
import type { CredentialCalls } from './credential-calls.js';
import type { CredentialFaults } from './credential-faults.js';
import type { Directory } from './directory.js';
import { readBody, sendError, sendJson } from './http.js';
import { rfc3339, type TokenStore } from './tokens.js';

const ENDPOINT_PATH = /^projects\/[^/]+\/branches\/[^/]+\/endpoints\/[^/]+$/;

export interface CredentialDeps {
  tokens: TokenStore;
  /** The endpoints of the project (the main one, replicas, branches'). */
  endpoints: Pick<EndpointCatalog, 'get'>;
  pgTokenTtlSeconds(): number;
  directory: Directory;
  faults: CredentialFaults;
  calls: CredentialCalls;
  log: Log;
}

export async function credentials(
  req: http.IncomingMessage,
  res: http.ServerResponse,
  identity: string,
  deps: CredentialDeps,
): Promise<void> {
  const { faults } = deps;
  deps.calls.count(identity);
  const raw = await readBody(req);
  await faults.delay();
  const fault = faults.take();
  if (fault) {
    deps.log(`api: credential fault ${fault.status} for ${identity}`);
    if (fault.status === 0) {
      req.socket.destroy();
      return;
    }
    return sendError(res, fault.status, fault.errorCode, fault.message);
  }
  let body: { endpoint?: unknown; group_name?: unknown };
  try {
    body = raw ? JSON.parse(raw) : {};
  } catch {
    return sendError(res, 400, 'MALFORMED_REQUEST', 'Request body is not valid JSON');
  }
  const endpoint = body?.endpoint;
  if (typeof endpoint !== 'string' || !ENDPOINT_PATH.test(endpoint)) {
    return sendError(
      res,
      400,
      'INVALID_PARAMETER_VALUE',
      "Field 'endpoint' must look like projects/<project>/branches/<branch>/endpoints/<endpoint>",
    );
  }
  if (!deps.endpoints.get(endpoint)) {
    return sendError(res, 404, 'NOT_FOUND', `Endpoint '${endpoint}' does not exist`);
  }
  switch (faults.malformed) {
    case 'not-json':
      res.writeHead(200, { 'content-type': 'text/html' });
      res.end('<html><body>Bad gateway</body></html>');
      return;
    case 'missing-token':
      return sendJson(res, 200, { expire_time: rfc3339(Date.now() + 3600_000) });
    default:
      break;
  }
  if (body.group_name !== undefined && (typeof body.group_name !== 'string' || !body.group_name)) {
    return sendError(res, 400, 'INVALID_PARAMETER_VALUE', "Field 'group_name' must be a string");
  }
  const group = body.group_name as string | undefined;
  if (group !== undefined && !deps.directory.isGroupMember(group, identity)) {
    const message = `'${identity}' is not a member of workspace group '${group}'`;
    return sendError(res, 403, 'PERMISSION_DENIED', message);
  }
  const minted = deps.tokens.mint(group ?? identity, 'pg', deps.pgTokenTtlSeconds());
  if (faults.malformed === 'bad-expiry') {
    return sendJson(res, 200, { token: minted.token, expire_time: 'not-a-timestamp' });
  }
  deps.log(`api: minted a Postgres token for ${group ?? identity}`);
  return sendJson(res, 200, { token: minted.token, expire_time: rfc3339(minted.expiresAt) });
}
