/**
 * Databricks SDK clients that act as a user: one `WorkspaceClient` per forwarded token
 * (keyed by the token's SHA-256 fingerprint), created once and reused. Each is configured with
 * that token only (`authType: 'pat'`, no env or config-file loaders), so service-principal
 * variables in the environment (`DATABRICKS_CLIENT_ID`/`_SECRET`) never mix in. All of them share
 * one keep-alive HTTP agent (each request still carries its own bearer token), destroyed on close.
 */
import { createHash } from 'node:crypto';
import http from 'node:http';
import https from 'node:https';
import { PatCredentials, WorkspaceClient } from '@databricks/sdk-experimental';
import { ClosedError } from './errors.js';
import { LruMap } from './lru-map.js';

/** SHA-256 of a token, base64url: what caches key on instead of the token itself. */
export function tokenFingerprint(token: string): string {
  return createHash('sha256').update(token).digest('base64url');
}

export interface UserClientCacheOptions {
  /** The workspace URL (resolved once, on first use). */
  host: () => string | Promise<string>;
  /** How many clients to keep (least recently used dropped first). Default 1000. */
  max?: number;
  /** The SDK's retry budget for retryable answers (429/503), in seconds. Default 15. */
  retryTimeoutSeconds?: number;
}

export class UserClientCache {
  private readonly clients: LruMap<string, WorkspaceClient>;
  private hostPromise: Promise<string> | undefined;
  private agent: http.Agent | undefined;
  private closed = false;
  private createdCount = 0;

  constructor(private readonly options: UserClientCacheOptions) {
    this.clients = new LruMap(options.max ?? 1000);
  }

  /** The client for this token, created on first use. */
  async get(fingerprint: string, token: string): Promise<WorkspaceClient> {
    if (this.closed) throw new ClosedError();
    const cached = this.clients.get(fingerprint);
    if (cached) return cached;
    const host = await this.host();
    if (this.closed) throw new ClosedError();
    const raced = this.clients.get(fingerprint);
    if (raced) return raced;
    const client = new WorkspaceClient({
      host,
      token,
      authType: 'pat',
      credentials: new PatCredentials(),
      loaders: [],
      env: {},
      retryTimeoutSeconds: this.options.retryTimeoutSeconds ?? 15,
    });
    // the SDK builds one agent per client on first request; give it the shared one instead
    (client.apiClient as unknown as { _agent?: http.Agent })._agent = this.sharedAgent(host);
    this.createdCount++;
    this.clients.set(fingerprint, client);
    return client;
  }

  /** How many SDK clients were ever built (to prove they are not built per request). */
  get created(): number {
    return this.createdCount;
  }

  get size(): number {
    return this.clients.size;
  }

  /** Drops every client and closes the keep-alive sockets. */
  close(): void {
    this.closed = true;
    this.clients.clear();
    this.agent?.destroy();
    this.agent = undefined;
  }

  private sharedAgent(host: string): http.Agent {
    if (!this.agent) {
      const options = { keepAlive: true, keepAliveMsecs: 15_000, timeout: 30_000 };
      this.agent = host.startsWith('http:')
        ? new http.Agent(options)
        : new https.Agent({ ...options, rejectUnauthorized: true });
    }
    return this.agent;
  }

  private host(): Promise<string> {
    this.hostPromise ??= Promise.resolve()
      .then(() => this.options.host())
      .catch((error: unknown) => {
        this.hostPromise = undefined;
        throw error;
      });
    return this.hostPromise;
  }
}
