/**
 * `UserWorkspaceClients` builds Databricks SDK clients that act with one user's token only
 * (`authType: 'pat'`, no env or config-file loaders, so the service principal's
 * `DATABRICKS_CLIENT_ID`/`_SECRET` never mix in), all sharing one keep-alive agent through the
 * SDK's public `agent` option. The workspace host must be https (http on loopback aside): user
 * tokens never cross the network in clear text.
 */
import http from 'node:http';
import https from 'node:https';
import { PatCredentials, WorkspaceClient } from '@databricks/sdk-experimental';
import { ClosedError } from '../../base/errors.js';
import { workspaceOrigin } from '../../config/workspace-host.js';

/** Where the workspace URL comes from (the service principal's configuration). */
export interface WorkspaceHostSource {
  workspaceHost(): Promise<string>;
}

export interface UserWorkspaceClientsOptions {
  /** The workspace URL (resolved once, on first use; checked by `workspaceOrigin`). */
  host: WorkspaceHostSource;
  /** The SDK's retry budget for retryable answers (429/503), in seconds. Default 10. */
  retryTimeoutSeconds?: number;
}

/** Factory of per-token SDK clients over one shared keep-alive agent. */
export class UserWorkspaceClients {
  readonly #options: UserWorkspaceClientsOptions;
  #host: Promise<string> | undefined;
  #agent: http.Agent | undefined;
  #closed = false;
  #created = 0;

  constructor(options: UserWorkspaceClientsOptions) {
    this.#options = options;
  }

  /** A client that acts with `token` only. Not cached here: its owner keeps it. */
  async create(token: string): Promise<WorkspaceClient> {
    if (this.#closed) throw new ClosedError();
    const host = await this.#resolveHost();
    if (this.#closed) throw new ClosedError();
    this.#created++;
    return new WorkspaceClient(
      {
        host,
        token,
        authType: 'pat',
        credentials: new PatCredentials(),
        loaders: [],
        env: {},
        retryTimeoutSeconds: this.#options.retryTimeoutSeconds ?? 10,
      },
      { agent: this.#sharedAgent(host), product: 'lakebase-kit', productVersion: '0.1.0' },
    );
  }

  /** How many SDK clients were built (to prove they are not built per request). */
  get created(): number {
    return this.#created;
  }

  /** Refuses new clients and closes the keep-alive sockets. */
  close(): void {
    this.#closed = true;
    this.#agent?.destroy();
    this.#agent = undefined;
  }

  #sharedAgent(host: string): http.Agent {
    if (!this.#agent) {
      const options = { keepAlive: true, keepAliveMsecs: 15_000, timeout: 30_000 };
      this.#agent = host.startsWith('http:')
        ? new http.Agent(options)
        : new https.Agent({ ...options, rejectUnauthorized: true });
    }
    return this.#agent;
  }

  #resolveHost(): Promise<string> {
    this.#host ??= Promise.resolve()
      .then(() => this.#options.host.workspaceHost())
      .then((host) => workspaceOrigin(host))
      .catch((error: unknown) => {
        this.#host = undefined;
        throw error;
      });
    return this.#host;
  }
}
