/**
 * Who a forwarded token belongs to. `IdentityVerifier` asks the workspace who owns a token
 * (SCIM `Me`, once per token fingerprint) and checks that the owner is, exactly as Postgres will
 * compare it, the identity the request claims. It keeps no token: owners are remembered by
 * fingerprint, bounded and forgotten after `idleMs` without use. Only owners of tokens that
 * verified are kept with them; refusals go to a small cache of their own, so a flood of bad
 * tokens never pushes real users out. Lookups are bounded: `concurrency` at once, `queue` more
 * waiting, and past that an `OverloadedError` (503) at once, not an unbounded queue.
 */
import { hash } from 'node:crypto';
import { type Clock, systemClock } from '../../base/clock.js';
import {
  AuthenticationError,
  ClosedError,
  CredentialError,
  OverloadedError,
  redactSecrets,
} from '../../base/errors.js';
import { LruMap } from '../../base/lru-map.js';
import { abortable, cancellableContext } from '../../base/sdk-context.js';
import type { UserWorkspaceClients } from './workspace-clients.js';

/** SHA-256 of a token, base64url: what caches key on instead of the token itself. */
export function tokenFingerprint(token: string): string {
  return hash('sha256', token, 'base64url');
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

/**
 * The Postgres role of a verified request: the claimed identity itself when it came from
 * `x-forwarded-email`; the token owner's user name (their email) when only `x-forwarded-user`
 * (the numeric user id Databricks Apps sends) was there — never a role named after an id, so
 * an `x-forwarded-email` naming the owner's id is an `AuthenticationError` (401).
 */
export function roleOf(owner: TokenOwner, claimed: string, fromEmailHeader: boolean): string {
  if (!fromEmailHeader) return owner.userName ?? owner.emails[0] ?? claimed;
  if (claimed !== owner.userName && !owner.emails.includes(claimed)) {
    // the owner's SCIM id in x-forwarded-email: it would run as a role named after the id
    throw new AuthenticationError(
      'x-forwarded-email names the token owner by their user id, not their email: no role is named after an id',
      { status: 401 },
    );
  }
  return claimed;
}

export interface IdentityVerifierOptions {
  clients: UserWorkspaceClients;
  /** Token owners remembered at once. Default 10 000. */
  max?: number;
  /** A remembered owner is forgotten after this long without use. Default 30000. */
  idleMs?: number;
  /** Give up on one SCIM `Me` call after this long. Default 10000. */
  timeoutMs?: number;
  /** SCIM `Me` calls at once. Default 32. */
  concurrency?: number;
  /** Lookups waiting for a slot; past this, `OverloadedError` at once. Default 1000. */
  queue?: number;
  clock?: Clock;
}

export interface IdentityVerifierStats {
  /** SCIM `Me` calls made. */
  lookups: number;
  verifications: number;
  verificationFailures: number;
  /** Token owners remembered now (verified tokens only). */
  cached: number;
  /** Lookups refused because `concurrency` + `queue` were taken. */
  overloaded: number;
}

interface OwnerEntry {
  owner: TokenOwner;
  lastUsed: number;
}

/** Refusals remembered (by fingerprint, no token), so a bad token does not call SCIM each time. */
const REFUSALS_REMEMBERED = 1000;

export class IdentityVerifier {
  /** Owners of tokens that were looked up, by fingerprint. */
  readonly #owners: LruMap<string, OwnerEntry>;
  /** Tokens the workspace rejected, by fingerprint (a small cache of its own). */
  readonly #refused = new LruMap<string, AuthenticationError>(REFUSALS_REMEMBERED);
  /** Lookups in flight or waiting, by fingerprint (shared by concurrent requests). */
  readonly #pending = new Map<string, Promise<TokenOwner>>();
  /** Lookups waiting for a slot. */
  readonly #waiting: Array<() => void> = [];
  readonly #clients: UserWorkspaceClients;
  readonly #idleMs: number;
  readonly #timeoutMs: number;
  readonly #concurrency: number;
  readonly #queue: number;
  readonly #clock: Clock;
  /** The SCIM calls in flight (aborted by close()). */
  readonly #calls = new Set<AbortController>();
  #running = 0;
  #closed = false;
  #sweepTimer: unknown;
  #lookups = 0;
  #verifications = 0;
  #verificationFailures = 0;
  #overloaded = 0;

  constructor(options: IdentityVerifierOptions) {
    this.#clients = options.clients;
    this.#owners = new LruMap(options.max ?? 10_000);
    this.#idleMs = options.idleMs ?? 30_000;
    this.#timeoutMs = options.timeoutMs ?? 10_000;
    this.#concurrency = options.concurrency ?? 32;
    this.#queue = options.queue ?? 1000;
    this.#clock = options.clock ?? systemClock;
  }

  /**
   * Resolves when the token belongs to `identity`.
   * @throws AuthenticationError (401) when it belongs to someone else or the workspace rejects it
   * @throws CredentialError when the workspace could not be asked (retryable; not remembered)
   * @throws OverloadedError (503) when too many lookups are in flight and waiting already
   */
  async verify(identity: string, token: string, fingerprint: string): Promise<TokenOwner> {
    let owner: TokenOwner;
    try {
      owner = await this.#owner(fingerprint, token);
    } catch (error) {
      this.#verificationFailures++;
      throw error;
    }
    if (!ownsIdentity(owner, identity)) {
      this.#verificationFailures++;
      throw new AuthenticationError(
        `The forwarded access token does not belong to "${identity}" (x-forwarded-email / ` +
          'x-forwarded-user); identities are compared exactly, as Postgres compares role names',
        { identity },
      );
    }
    this.#verifications++;
    return owner;
  }

  /** True when the token is already known to belong to `identity` (no I/O). */
  isVerified(identity: string, fingerprint: string): boolean {
    const owner = this.#owners.peek(fingerprint)?.owner;
    return owner !== undefined && ownsIdentity(owner, identity);
  }

  /** The owner of a token already looked up, if known (no I/O). */
  knownOwner(fingerprint: string): TokenOwner | undefined {
    return this.#owners.peek(fingerprint)?.owner;
  }

  stats(): IdentityVerifierStats {
    return {
      lookups: this.#lookups,
      verifications: this.#verifications,
      verificationFailures: this.#verificationFailures,
      cached: this.#owners.size,
      overloaded: this.#overloaded,
    };
  }

  /** Aborts lookups in flight and forgets every owner. */
  close(): void {
    this.#closed = true;
    for (const call of this.#calls) call.abort();
    this.#calls.clear();
    for (const wake of this.#waiting.splice(0)) wake();
    this.#owners.clear();
    this.#refused.clear();
    if (this.#sweepTimer !== undefined) this.#clock.clearTimeout(this.#sweepTimer);
    this.#sweepTimer = undefined;
  }

  #owner(fingerprint: string, token: string): Promise<TokenOwner> {
    if (this.#closed) return Promise.reject(new ClosedError());
    const known = this.#owners.get(fingerprint);
    if (known) {
      known.lastUsed = this.#clock.now();
      return Promise.resolve(known.owner);
    }
    const refused = this.#refused.get(fingerprint);
    if (refused) return Promise.reject(refused);
    const pending = this.#pending.get(fingerprint);
    if (pending) return pending;
    if (this.#pending.size >= this.#concurrency + this.#queue) {
      this.#overloaded++;
      return Promise.reject(
        new OverloadedError(
          `Too many forwarded tokens are being verified at once (${this.#pending.size}); retry shortly`,
        ),
      );
    }
    const lookup = this.#lookupWhenFree(token).then(
      (owner) => {
        this.#pending.delete(fingerprint);
        if (!this.#closed) {
          this.#owners.set(fingerprint, { owner, lastUsed: this.#clock.now() });
          this.#startSweeping();
        }
        return owner;
      },
      (error: unknown) => {
        this.#pending.delete(fingerprint);
        // a definite refusal is remembered (apart); a failure to ask is not
        if (error instanceof AuthenticationError && !this.#closed) {
          this.#refused.set(fingerprint, error);
        }
        throw error;
      },
    );
    this.#pending.set(fingerprint, lookup);
    return lookup;
  }

  /** Waits for one of `concurrency` slots, then looks the token's owner up. */
  async #lookupWhenFree(token: string): Promise<TokenOwner> {
    if (this.#running >= this.#concurrency) {
      await new Promise<void>((resolve) => this.#waiting.push(resolve));
      if (this.#closed) throw new ClosedError();
    }
    this.#running++;
    try {
      return await this.#lookup(token);
    } finally {
      this.#running--;
      this.#waiting.shift()?.();
    }
  }

  async #lookup(token: string): Promise<TokenOwner> {
    const client = await this.#clients.create(token);
    this.#lookups++;
    let me: { id?: string; userName?: string; emails?: Array<{ value?: string }> };
    // One controller per call, aborted by our timeout or by close(); its timer and entry are
    // removed when the call ends (AbortSignal.any/timeout would keep them until they fire).
    const call = new AbortController();
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      call.abort();
    }, this.#timeoutMs);
    timer.unref();
    this.#calls.add(call);
    try {
      const request = client.currentUser.me(cancellableContext(call.signal));
      request.catch(() => {});
      me = await abortable(request, call.signal);
    } catch (error) {
      if (this.#closed) throw new ClosedError();
      if (timedOut) {
        throw new CredentialError(
          `Could not verify the forwarded access token: SCIM Me did not answer within ${this.#timeoutMs} ms`,
          { retryable: true },
        );
      }
      throw scimError(error);
    } finally {
      clearTimeout(timer);
      this.#calls.delete(call);
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

  /** Forgets owners unused for `idleMs` (and old refusals); runs only while some are remembered. */
  #startSweeping(): void {
    if (this.#sweepTimer !== undefined || this.#idleMs <= 0) return;
    this.#sweepTimer = this.#clock.setTimeout(() => {
      this.#sweepTimer = undefined;
      const cutoff = this.#clock.now() - this.#idleMs;
      for (const [fingerprint, entry] of [...this.#owners.entries()]) {
        if (entry.lastUsed <= cutoff) this.#owners.delete(fingerprint);
      }
      this.#refused.clear();
      if (this.#owners.size > 0) this.#startSweeping();
    }, this.#idleMs / 2);
    (this.#sweepTimer as { unref?: () => unknown } | undefined)?.unref?.();
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
