/**
 * Who a forwarded token belongs to. `UserWorkspaceClients` builds Databricks SDK clients that
 * act with one user's token only (`authType: 'pat'`, no env or config-file loaders, so the
 * service principal's `DATABRICKS_CLIENT_ID`/`_SECRET` never mix in), all sharing one keep-alive
 * agent through the SDK's public `agent` option. `IdentityVerifier` asks the workspace who
 * owns a token (SCIM `Me`, once per token fingerprint) and checks that the owner is, exactly as
 * Postgres will compare it, the identity the request claims. It keeps no token: its cache maps
 * fingerprints to owner names, bounded and forgotten after `idleMs` without use.
 */
import { hash } from 'node:crypto';
import http from 'node:http';
import https from 'node:https';
import { PatCredentials, WorkspaceClient } from '@databricks/sdk-experimental';
import type { Clock } from '../../base/clock.js';
import { systemClock } from '../../base/clock.js';
import {
  AuthenticationError,
  ClosedError,
  CredentialError,
  redactSecrets,
} from '../../base/errors.js';
import { LruMap } from '../../base/lru-map.js';
import { abortable, cancellableContext } from '../../base/sdk-context.js';

/** SHA-256 of a token, base64url: what caches key on instead of the token itself. */
export function tokenFingerprint(token: string): string {
  return hash('sha256', token, 'base64url');
}

export interface UserWorkspaceClientsOptions {
  /** The workspace URL (resolved once, on first use). */
  host: () => string | Promise<string>;
  /** The SDK's retry budget for retryable answers (429/503), in seconds. Default 10. */
  retryTimeoutSeconds?: number;
}

/** Factory of per-token SDK clients over one shared keep-alive agent. */
export class UserWorkspaceClients {
  private hostPromise: Promise<string> | undefined;
  private agent: http.Agent | undefined;
  private closed = false;
  private createdCount = 0;

  constructor(private readonly options: UserWorkspaceClientsOptions) {}

  /** A client that acts with `token` only. Not cached here: its owner keeps it. */
  async create(token: string): Promise<WorkspaceClient> {
    if (this.closed) throw new ClosedError();
    const host = await this.host();
    if (this.closed) throw new ClosedError();
    this.createdCount++;
    return new WorkspaceClient(
      {
        host,
        token,
        authType: 'pat',
        credentials: new PatCredentials(),
        loaders: [],
        env: {},
        retryTimeoutSeconds: this.options.retryTimeoutSeconds ?? 10,
      },
      { agent: this.sharedAgent(host), product: 'lakebase-kit', productVersion: '0.1.0' },
    );
  }

  /** How many SDK clients were built (to prove they are not built per request). */
  get created(): number {
    return this.createdCount;
  }

  /** Refuses new clients and closes the keep-alive sockets. */
  close(): void {
    this.closed = true;
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

/** Who a token belongs to, as SCIM `Me` reports it. */
export interface TokenOwner {
  id: string | undefined;
  userName: string | undefined;
  emails: string[];
}

/**
 * True when `identity` names the owner: its user name, one of its emails, or its SCIM id,
 * compared exactly (no case or Unicode folding), because the identity is the Postgres role
 * and Postgres compares role names exactly.
 */
export function ownsIdentity(owner: TokenOwner, identity: string): boolean {
  return [owner.userName, owner.id, ...owner.emails].some((name) => name === identity);
}

export interface IdentityVerifierOptions {
  clients: UserWorkspaceClients;
  /** Token owners remembered at once. Default 10 000. */
  max?: number;
  /** A remembered owner is forgotten after this long without use. Default 30000. */
  idleMs?: number;
  /** Give up on one SCIM `Me` call after this long. Default 10000. */
  timeoutMs?: number;
  clock?: Clock;
}

export interface IdentityVerifierStats {
  /** SCIM `Me` calls made. */
  lookups: number;
  verifications: number;
  verificationFailures: number;
  /** Token owners remembered now. */
  cached: number;
}

interface OwnerEntry {
  owner: Promise<TokenOwner>;
  lastUsed: number;
  /** Known once the lookup has settled. */
  settled?: { owner?: TokenOwner; error?: unknown };
}

export class IdentityVerifier {
  private readonly owners: LruMap<string, OwnerEntry>;
  private readonly clients: UserWorkspaceClients;
  private readonly idleMs: number;
  private readonly timeoutMs: number;
  private readonly clock: Clock;
  /** The SCIM calls in flight (aborted by close()). */
  private readonly calls = new Set<AbortController>();
  private closed = false;
  private sweepTimer: unknown;
  private lookups = 0;
  private verifications = 0;
  private verificationFailures = 0;

  constructor(options: IdentityVerifierOptions) {
    this.clients = options.clients;
    this.owners = new LruMap(options.max ?? 10_000);
    this.idleMs = options.idleMs ?? 30_000;
    this.timeoutMs = options.timeoutMs ?? 10_000;
    this.clock = options.clock ?? systemClock;
  }

  /**
   * Resolves when the token belongs to `identity`.
   * @throws AuthenticationError (401) when it belongs to someone else or the workspace rejects it
   * @throws CredentialError when the workspace could not be asked (retryable; not remembered)
   */
  async verify(identity: string, token: string, fingerprint: string): Promise<void> {
    let owner: TokenOwner;
    try {
      owner = await this.owner(fingerprint, token);
    } catch (error) {
      this.verificationFailures++;
      throw error;
    }
    if (!ownsIdentity(owner, identity)) {
      this.verificationFailures++;
      throw new AuthenticationError(
        `The forwarded access token does not belong to "${identity}" (x-forwarded-email / ` +
          'x-forwarded-user); identities are compared exactly, as Postgres compares role names',
        { identity },
      );
    }
    this.verifications++;
  }

  /** True when the token is already known to belong to `identity` (no I/O). */
  isVerified(identity: string, fingerprint: string): boolean {
    const owner = this.owners.peek(fingerprint)?.settled?.owner;
    return owner !== undefined && ownsIdentity(owner, identity);
  }

  stats(): IdentityVerifierStats {
    return {
      lookups: this.lookups,
      verifications: this.verifications,
      verificationFailures: this.verificationFailures,
      cached: this.owners.size,
    };
  }

  /** Aborts lookups in flight and forgets every owner. */
  close(): void {
    this.closed = true;
    for (const call of this.calls) call.abort();
    this.calls.clear();
    this.owners.clear();
    this.stopSweeping();
  }

  private owner(fingerprint: string, token: string): Promise<TokenOwner> {
    if (this.closed) return Promise.reject(new ClosedError());
    const now = this.clock.now();
    const cached = this.owners.get(fingerprint);
    if (cached) {
      cached.lastUsed = now;
      return cached.owner;
    }
    const entry: OwnerEntry = { owner: this.lookup(token), lastUsed: now };
    this.owners.set(fingerprint, entry);
    entry.owner.then(
      (owner) => {
        entry.settled = { owner };
      },
      (error: unknown) => {
        entry.settled = { error };
        // Only a definite answer is remembered: the next request asks again after a failure.
        if (!(error instanceof AuthenticationError) && this.owners.peek(fingerprint) === entry) {
          this.owners.delete(fingerprint);
        }
      },
    );
    this.startSweeping();
    return entry.owner;
  }

  private async lookup(token: string): Promise<TokenOwner> {
    const client = await this.clients.create(token);
    this.lookups++;
    let me: { id?: string; userName?: string; emails?: Array<{ value?: string }> };
    // One controller per call, aborted by our timeout or by close(); its timer and entry are
    // removed when the call ends (AbortSignal.any/timeout would keep them until they fire).
    const call = new AbortController();
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      call.abort();
    }, this.timeoutMs);
    timer.unref();
    this.calls.add(call);
    try {
      const request = client.currentUser.me(cancellableContext(call.signal));
      request.catch(() => {});
      me = await abortable(request, call.signal);
    } catch (error) {
      if (this.closed) throw new ClosedError();
      if (timedOut) {
        throw new CredentialError(
          `Could not verify the forwarded access token: SCIM Me did not answer within ${this.timeoutMs} ms`,
          { retryable: true },
        );
      }
      throw scimError(error);
    } finally {
      clearTimeout(timer);
      this.calls.delete(call);
      call.abort(); // releases the SDK's own listener on the call's signal
    }
    return {
      id: me.id,
      userName: me.userName,
      emails: (me.emails ?? [])
        .map((email) => email.value)
        .filter((value): value is string => typeof value === 'string'),
    };
  }

  /** Forgets owners unused for `idleMs`; runs only while some are remembered. */
  private startSweeping(): void {
    if (this.sweepTimer !== undefined || this.idleMs <= 0) return;
    this.sweepTimer = this.clock.setTimeout(() => {
      this.sweepTimer = undefined;
      const cutoff = this.clock.now() - this.idleMs;
      for (const [fingerprint, entry] of [...this.owners.entries()]) {
        if (entry.lastUsed <= cutoff && entry.settled) this.owners.delete(fingerprint);
      }
      if (this.owners.size > 0) this.startSweeping();
    }, this.idleMs / 2);
    (this.sweepTimer as { unref?: () => unknown } | undefined)?.unref?.();
  }

  private stopSweeping(): void {
    if (this.sweepTimer !== undefined) this.clock.clearTimeout(this.sweepTimer);
    this.sweepTimer = undefined;
  }
}

function scimError(error: unknown): Error {
  const details = error as { statusCode?: unknown; code?: unknown; errorCode?: unknown };
  const status =
    typeof details.statusCode === 'number'
      ? details.statusCode
      : typeof details.code === 'number'
        ? details.code
        : undefined;
  const errorCode = typeof details.errorCode === 'string' ? details.errorCode : undefined;
  if (status === 401 || status === 403) {
    return new AuthenticationError(
      `The workspace rejected the forwarded access token (HTTP ${status}${errorCode ? ` ${errorCode}` : ''})`,
    );
  }
  const reason = error instanceof Error ? redactSecrets(error.message) : 'unknown error';
  return new CredentialError(`Could not verify the forwarded access token: ${reason}`, {
    status,
    errorCode,
    retryable: true,
  });
}
