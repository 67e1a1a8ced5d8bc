/**
 * The fake Databricks workspace API: OIDC discovery + client-credentials token endpoint,
 * SCIM `Me`, and the Lakebase credential API. Enough for the real Databricks SDK.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Directory } from './directory.js';
import type { FaultState } from './faults.js';
import { readBody, sendError, sendJson } from './http-util.js';
import { userId } from './identities.js';
import type { RolesApi } from './roles-api.js';
import type { StatsRecorder } from './stats.js';
import { rfc3339, type TokenStore } from './tokens.js';
import type { ServicePrincipal } from './types.js';

export const ORG_ID = '1234567890123456';
export const ACCESS_TOKEN_TTL_SECONDS = 3600;
const ENDPOINT_PATH = /^projects\/[^/]+\/branches\/[^/]+\/endpoints\/[^/]+$/;

export interface WorkspaceDeps {
  tokens: TokenStore;
  servicePrincipal: ServicePrincipal;
  endpoint: string;
  pgTokenTtlSeconds(): number;
  faults: FaultState;
  stats: StatsRecorder;
  log(line: string): void;
  /** Workspace groups (for `group_name` credentials). */
  directory: Directory;
  /** The Lakebase roles API (`/api/2.0/postgres/projects/...`). */
  rolesApi: RolesApi;
}

export class WorkspaceApi {
  private readonly server: http.Server;
  port = 0;

  constructor(private readonly deps: WorkspaceDeps) {
    this.server = http.createServer((req, res) => {
      this.route(req, res).catch((error: Error) => {
        deps.log(`api: ${req.method} ${req.url} failed: ${error.message}`);
        if (!res.headersSent) sendError(res, 500, 'INTERNAL_ERROR', 'Internal error');
        else res.destroy();
      });
    });
    this.server.keepAliveTimeout = 1000;
  }

  get host(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  start(port: number): Promise<number> {
    return new Promise((resolve, reject) => {
      this.server.once('error', reject);
      this.server.listen(port, '127.0.0.1', () => {
        this.server.off('error', reject);
        this.port = (this.server.address() as AddressInfo).port;
        resolve(this.port);
      });
    });
  }

  close(): Promise<void> {
    return new Promise((resolve) => {
      this.server.close(() => resolve());
      this.server.closeAllConnections();
    });
  }

  private async route(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', this.host);
    const route = `${req.method} ${url.pathname}`;
    this.deps.log(`api: ${route}`);
    switch (route) {
      case 'GET /oidc/.well-known/oauth-authorization-server':
      case 'GET /oidc/.well-known/openid-configuration':
        return sendJson(res, 200, {
          issuer: `${this.host}/oidc`,
          authorization_endpoint: `${this.host}/oidc/v1/authorize`,
          token_endpoint: `${this.host}/oidc/v1/token`,
          grant_types_supported: ['client_credentials'],
        });
      case 'POST /oidc/v1/token':
        return this.token(req, res);
      case 'GET /api/2.0/preview/scim/v2/Me':
        return this.me(req, res);
      case 'POST /api/2.0/postgres/credentials':
        return this.credentials(req, res);
      default:
        if (url.pathname.startsWith('/api/2.0/postgres/projects/')) {
          const identity = this.authenticate(req, res);
          if (identity) await this.deps.rolesApi.handle(req, res, url, identity);
          return;
        }
        return sendError(res, 404, 'ENDPOINT_NOT_FOUND', `No API found for '${route}'`);
    }
  }

  /** OAuth client credentials (HTTP Basic or form fields). */
  private async token(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    const form = new URLSearchParams(await readBody(req));
    let clientId = form.get('client_id') ?? undefined;
    let clientSecret = form.get('client_secret') ?? undefined;
    const authorization = req.headers.authorization ?? '';
    if (authorization.startsWith('Basic ')) {
      const decoded = Buffer.from(authorization.slice(6), 'base64').toString('utf8');
      const colon = decoded.indexOf(':');
      clientId = decodeURIComponent(decoded.slice(0, colon));
      clientSecret = decodeURIComponent(decoded.slice(colon + 1));
    }
    if (form.get('grant_type') !== 'client_credentials') {
      return sendJson(res, 400, {
        error: 'unsupported_grant_type',
        error_description: 'Only grant_type=client_credentials is supported',
      });
    }
    const sp = this.deps.servicePrincipal;
    if (clientId !== sp.clientId || clientSecret !== sp.clientSecret) {
      return sendJson(res, 401, {
        error: 'invalid_client',
        error_description: 'Client authentication failed',
      });
    }
    const minted = this.deps.tokens.mint(sp.clientId, 'access', ACCESS_TOKEN_TTL_SECONDS);
    return sendJson(res, 200, {
      access_token: minted.token,
      token_type: 'Bearer',
      expires_in: ACCESS_TOKEN_TTL_SECONDS,
      scope: form.get('scope') ?? 'all-apis',
    });
  }

  /** The caller's identity from its bearer token, or a 401 already sent. */
  private authenticate(req: http.IncomingMessage, res: http.ServerResponse): string | undefined {
    const authorization = req.headers.authorization ?? '';
    const match = /^Bearer\s+(.+)$/i.exec(authorization);
    const token = match?.[1]?.trim();
    if (!token) {
      sendError(res, 401, 'UNAUTHENTICATED', 'Missing bearer token in the Authorization header');
      return undefined;
    }
    if (token === this.deps.servicePrincipal.pat) return this.deps.servicePrincipal.clientId;
    const identity = this.deps.tokens.verify(token, 'access');
    if (!identity) {
      sendError(res, 401, 'UNAUTHENTICATED', 'Invalid or expired access token');
      return undefined;
    }
    return identity;
  }

  private me(req: http.IncomingMessage, res: http.ServerResponse): void {
    const identity = this.authenticate(req, res);
    if (!identity) return;
    const headers = { 'x-databricks-org-id': ORG_ID };
    const sp = this.deps.servicePrincipal;
    if (identity === sp.clientId) {
      sendJson(
        res,
        200,
        {
          id: userId(sp.clientId),
          userName: sp.clientId,
          applicationId: sp.clientId,
          displayName: 'lakebase-local-app',
          active: true,
        },
        headers,
      );
      return;
    }
    sendJson(
      res,
      200,
      {
        id: userId(identity),
        userName: identity,
        displayName: identity.split('@')[0],
        emails: [{ value: identity, primary: true, type: 'work' }],
        active: true,
      },
      headers,
    );
  }

  /** POST /api/2.0/postgres/credentials: a Postgres token for the caller's identity. */
  private async credentials(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    const identity = this.authenticate(req, res);
    if (!identity) return;
    const { faults } = this.deps;
    this.deps.stats.credentialCall(identity);
    const raw = await readBody(req);
    await faults.delay();
    const fault = faults.takeCredentialFault();
    if (fault) {
      this.deps.log(`api: credential fault ${fault.status} for ${identity}`);
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
    if (endpoint !== this.deps.endpoint) {
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
    // `group_name`: a token for the workspace group's role, for one of its members.
    if (
      body.group_name !== undefined &&
      (typeof body.group_name !== 'string' || !body.group_name)
    ) {
      return sendError(res, 400, 'INVALID_PARAMETER_VALUE', "Field 'group_name' must be a string");
    }
    const group = body.group_name as string | undefined;
    if (group !== undefined && !this.deps.directory.isGroupMember(group, identity)) {
      return sendError(
        res,
        403,
        'PERMISSION_DENIED',
        `'${identity}' is not a member of workspace group '${group}'`,
      );
    }
    const minted = this.deps.tokens.mint(group ?? identity, 'pg', this.deps.pgTokenTtlSeconds());
    if (faults.malformed === 'bad-expiry') {
      return sendJson(res, 200, { token: minted.token, expire_time: 'not-a-timestamp' });
    }
    this.deps.log(`api: minted a Postgres token for ${group ?? identity}`);
    return sendJson(res, 200, { token: minted.token, expire_time: rfc3339(minted.expiresAt) });
  }
}
