/**
 * Databricks SDK clients that act as a user: one `WorkspaceClient` per forwarded token
 * (keyed by the token's SHA-256 fingerprint), created once and reused. Each is configured with
 * that token only (`authType: 'pat'`, no env or config-file loaders), so service-principal
 * variables in the environment (`DATABRICKS_CLIENT_ID`/`_SECRET`) never mix in.
 */
import { createHash } from 'node:crypto';
import { PatCredentials, WorkspaceClient } from '@databricks/sdk-experimental';
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
  private createdCount = 0;

  constructor(private readonly options: UserClientCacheOptions) {
    this.clients = new LruMap(options.max ?? 1000, (_key, client) => destroyAgent(client));
  }

  /** The client for this token, created on first use. */
  async get(fingerprint: string, token: string): Promise<WorkspaceClient> {
    const cached = this.clients.get(fingerprint);
    if (cached) return cached;
    const host = await this.host();
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

  /** Drops every client and closes their keep-alive sockets. */
  close(): void {
    for (const client of this.clients.values()) destroyAgent(client);
    this.clients.clear();
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

function destroyAgent(client: WorkspaceClient): void {
  const apiClient = client.apiClient as unknown as { _agent?: { destroy(): void } };
  apiClient._agent?.destroy();
}
