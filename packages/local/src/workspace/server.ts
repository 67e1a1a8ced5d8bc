/**
 * The fake Databricks workspace's HTTP server: OIDC discovery and the client-credentials token
 * endpoint, SCIM `Me`, the Lakebase credential API and the rest of the Lakebase API (branches,
 * endpoints, roles, operations). Enough for the real Databricks SDK.
 */
import http from 'node:http';
import { listen } from '../base/ports.js';
import { API_PREFIX, type PostgresApi } from './api/router.js';
import { type CredentialDeps, credentials } from './credentials.js';
import { sendError } from './http.js';
import { authenticate, discovery, type OAuthDeps, tokenEndpoint } from './oauth.js';
import { me } from './scim.js';

export interface WorkspaceServerDeps extends OAuthDeps, CredentialDeps {
  /** The Lakebase API (`/api/2.0/postgres/projects/...`, operations). */
  postgresApi: PostgresApi;
}

export class WorkspaceServer {
  readonly #deps: WorkspaceServerDeps;
  readonly #server: http.Server;
  #port = 0;

  constructor(deps: WorkspaceServerDeps) {
    this.#deps = deps;
    this.#server = http.createServer((req, res) => {
      this.#route(req, res).catch((error: Error) => {
        deps.log(`api: ${req.method} ${req.url} failed: ${error.message}`);
        if (!res.headersSent) sendError(res, 500, 'INTERNAL_ERROR', 'Internal error');
        else res.destroy();
      });
    });
    this.#server.keepAliveTimeout = 1000;
  }

  get port(): number {
    return this.#port;
  }

  get host(): string {
    return `http://127.0.0.1:${this.#port}`;
  }

  async start(port: number): Promise<number> {
    this.#port = await listen(this.#server, port);
    return this.#port;
  }

  close(): Promise<void> {
    return new Promise((resolve) => {
      this.#server.close(() => resolve());
      this.#server.closeAllConnections();
    });
  }

  async #route(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    const deps = this.#deps;
    const url = new URL(req.url ?? '/', this.host);
    const route = `${req.method} ${url.pathname}`;
    deps.log(`api: ${route}`);
    switch (route) {
      case 'GET /oidc/.well-known/oauth-authorization-server':
      case 'GET /oidc/.well-known/openid-configuration':
        return discovery(res, this.host);
      case 'POST /oidc/v1/token':
        return tokenEndpoint(req, res, deps);
      case 'GET /api/2.0/preview/scim/v2/Me': {
        const identity = authenticate(req, res, deps);
        if (identity) me(res, identity, deps.servicePrincipal);
        return;
      }
      case 'POST /api/2.0/postgres/credentials': {
        const identity = authenticate(req, res, deps);
        if (identity) await credentials(req, res, identity, deps);
        return;
      }
      default:
        if (url.pathname.startsWith(API_PREFIX)) {
          const identity = authenticate(req, res, deps);
          const method = req.method ?? 'GET';
          if (identity) await deps.postgresApi.handle({ req, res, url, method, identity });
          return;
        }
        return sendError(res, 404, 'ENDPOINT_NOT_FOUND', `No API found for '${route}'`);
    }
  }
}
