/**
 * One identity's Postgres token: single-flight fetch, refresh-ahead timer (or lazy refresh on
 * use), keep-last-good on failure with jittered backoff, retries of transient failures within
 * the caller's deadline, `invalidate()`, and a `close()` that aborts the fetch in flight and
 * waits for nothing. The timing decisions are the pure functions of schedule.ts.
 */

import { type Clock, systemClock } from '../base/clock.js';
import {
  AuthenticationError,
  ClosedError,
  CredentialError,
  type LakebaseError,
  redactSecrets,
} from '../base/errors.js';
import { type Logger, silentLogger } from '../base/logger.js';
import type { Credential, CredentialSource, TokenCacheStats } from '../base/types.js';
import type { Telemetry } from '../telemetry/telemetry.js';
import type { PasswordSource } from './client.js';
import {
  type BackoffPolicy,
  backoffDelay,
  CREDENTIAL_BACKOFF,
  fitsBefore,
  isUsable,
  refreshAt,
  refreshDelay,
  type TokenTimes,
} from './schedule.js';

export interface TokenCacheOptions {
  source: CredentialSource;
  /** Shown in logs (`service principal`, or `user`): never the identity's token. */
  name: string;
  /** Refresh this long before expiry (default 120000); half-life when the token is shorter. */
  refreshBufferMs?: number;
  /** Never schedule a refresh sooner than this (default 1000). */
  minRefreshDelayMs?: number;
  /** Background refresh before expiry (default true); when false, stale tokens refresh on use. */
  refreshAhead?: boolean;
  /** How long `getToken()` may wait (and retry) when the caller gives no deadline (default 10000). */
  defaultWaitMs?: number;
  /** Backoff of background refreshes after failed fetches (default 1 s doubling to 30 s, jittered). */
  backoff?: Partial<BackoffPolicy>;
  /**
   * A caller with no valid token waits at most this long after a failure before asking again
   * (default 1000): the app recovers within a second of the API, without a retry storm.
   */
  foregroundRetryMs?: number;
  clock?: Clock;
  random?: () => number;
  logger?: Logger;
  telemetry?: Telemetry;
  /** Low-cardinality metric attribute (default `lakebase:sp`). */
  poolName?: string;
}

interface Entry extends TokenTimes {
  token: string;
}

interface Sleep {
  handle: unknown;
  wake: () => void;
}

export class TokenCache implements PasswordSource {
  /** OAuth tokens: a rejected one is worth one retry with a fresh token. */
  readonly isToken = true;

  readonly #source: CredentialSource;
  readonly #name: string;
  readonly #refreshBufferMs: number;
  readonly #minRefreshDelayMs: number;
  readonly #defaultWaitMs: number;
  readonly #backoff: BackoffPolicy;
  readonly #foregroundRetryMs: number;
  readonly #clock: Clock;
  readonly #random: () => number;
  readonly #logger: Logger;
  readonly #telemetry: Telemetry | undefined;
  readonly #poolName: string;
  #refreshAheadOn: boolean;
  #current: Entry | undefined;
  #inflight: Promise<Entry> | undefined;
  #inflightAbort: AbortController | undefined;
  #timer: unknown;
  readonly #sleeps = new Set<Sleep>();
  /** Callers of getToken() waiting for a fetch right now. */
  #waiting = 0;
  #failuresInARow = 0;
  /** When the background may try again (the full backoff after the last failure). */
  #retryAt = 0;
  /** When a waiting caller may try again (the backoff, capped at `foregroundRetryMs`). */
  #callerRetryAt = 0;
  #lastFailure: LakebaseError | undefined;
  #closed = false;
  readonly #counters: TokenCacheStats = {
    hits: 0,
    misses: 0,
    refreshes: 0,
    failures: 0,
    invalidations: 0,
  };

  constructor(options: TokenCacheOptions) {
    this.#source = options.source;
    this.#name = options.name;
    this.#refreshBufferMs = options.refreshBufferMs ?? 120_000;
    this.#minRefreshDelayMs = options.minRefreshDelayMs ?? 1000;
    this.#defaultWaitMs = options.defaultWaitMs ?? 10_000;
    this.#backoff = { ...CREDENTIAL_BACKOFF, ...options.backoff };
    this.#foregroundRetryMs = options.foregroundRetryMs ?? 1000;
    this.#refreshAheadOn = options.refreshAhead ?? true;
    this.#clock = options.clock ?? systemClock;
    this.#random = options.random ?? Math.random;
    this.#logger = options.logger ?? silentLogger;
    this.#telemetry = options.telemetry;
    this.#poolName = options.poolName ?? 'lakebase:sp';
  }

  get isClosed(): boolean {
    return this.#closed;
  }

  /**
   * A valid token. Waits on the credential API only when none is cached; transient failures
   * are retried with backoff until `deadline` (epoch ms, default now + `defaultWaitMs`).
   * @throws CredentialError when no valid token could be had in time; ClosedError after close().
   */
  /** A token for a login that must be ready by `deadline` (a client's password). */
  password(deadline: number): Promise<string> {
    return this.getToken(deadline);
  }

  async getToken(deadline?: number): Promise<string> {
    if (this.#closed) throw this.#closedError();
    const now = this.#clock.now();
    const entry = this.#current;
    if (entry && isUsable(entry, now)) {
      this.#counters.hits++;
      this.#telemetry?.cacheLookup(this.#poolName, true);
      // Lazy mode: past the refresh point, serve the valid token and refresh in the background.
      if (!this.#refreshAheadOn && now >= refreshAt(entry, this.#refreshBufferMs)) {
        this.#refreshInBackground();
      }
      return entry.token;
    }
    this.#counters.misses++;
    this.#telemetry?.cacheLookup(this.#poolName, false);
    this.#waiting++;
    try {
      return (await this.#fetchUntil(deadline ?? now + this.#defaultWaitMs)).token;
    } finally {
      this.#waiting--;
    }
  }

  /** The cached token if it may be handed out now; never does I/O. */
  peekValid(): string | undefined {
    const entry = this.#current;
    return entry && isUsable(entry, this.#clock.now()) ? entry.token : undefined;
  }

  /** The cached credential, if any (valid or not). */
  peek(): Credential | undefined {
    return this.#current
      ? { token: this.#current.token, expiresAt: new Date(this.#current.expiresAt) }
      : undefined;
  }

  /** Forget `token` (or the current one) after the server rejected it. */
  invalidate(token?: string): void {
    if (!this.#current) return;
    if (token !== undefined && this.#current.token !== token) return; // already replaced
    this.#current = undefined;
    this.#counters.invalidations++;
    this.#logger.debug(`token for ${this.#name} invalidated`);
  }

  /** Turn the background refresh-ahead timer on or off (user pools go lazy when idle). */
  setRefreshAhead(enabled: boolean): void {
    if (this.#refreshAheadOn === enabled || this.#closed) return;
    this.#refreshAheadOn = enabled;
    if (!enabled) this.#clearTimer();
    else if (this.#current) this.#schedule(this.#nextRefreshDelay(this.#current));
  }

  stats(): TokenCacheStats {
    return { ...this.#counters };
  }

  /**
   * No more background work: the refresh-ahead timer stops, and a background fetch nobody
   * waits for is aborted. Callers already waiting keep their fetch (their pool is ending and
   * lets them finish); `close()` ends the rest.
   */
  quiesce(): void {
    if (this.#closed) return;
    this.#refreshAheadOn = false;
    this.#clearTimer();
    if (this.#waiting === 0) this.#inflightAbort?.abort();
  }

  /**
   * Stops for good: aborts the credential call in flight (its waiters get a `ClosedError`),
   * cancels every timer and forgets the token. Returns at once.
   */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#clearTimer();
    this.#current = undefined;
    this.#inflightAbort?.abort();
    for (const sleep of [...this.#sleeps]) {
      this.#clock.clearTimeout(sleep.handle);
      sleep.wake();
    }
    this.#sleeps.clear();
  }

  /** Fetch (shared), retrying transient failures with backoff while the deadline allows. */
  async #fetchUntil(deadline: number): Promise<Entry> {
    for (;;) {
      const now = this.#clock.now();
      if (now < this.#callerRetryAt) {
        // A failure just happened: wait out its backoff if the deadline allows.
        const wait = this.#callerRetryAt - now;
        if (!fitsBefore(now, wait, deadline)) throw this.#lastFailure ?? this.#noTokenInTime();
        await this.#sleep(wait);
        if (this.#closed) throw this.#closedError();
        const entry = this.#current;
        if (entry && isUsable(entry, this.#clock.now())) return entry;
      }
      try {
        return await this.#withDeadline(this.#refresh(), deadline);
      } catch (error) {
        if (this.#closed) throw this.#closedError();
        if (!(error instanceof CredentialError) || !error.retryable) throw error;
        if (this.#clock.now() >= deadline) throw error;
        // retry after the backoff the failure set (the loop waits for retryAt)
      }
    }
  }

  /** Single-flight: every concurrent caller shares one credential API call. */
  #refresh(): Promise<Entry> {
    if (this.#closed) return Promise.reject(this.#closedError());
    if (!this.#inflight) {
      const abort = new AbortController();
      this.#inflightAbort = abort;
      const fetched = this.#fetchOnce(abort.signal);
      this.#inflight = fetched;
      fetched.then(
        () => this.#settled(fetched),
        () => this.#settled(fetched),
      );
    }
    return this.#inflight;
  }

  #settled(fetched: Promise<Entry>): void {
    if (this.#inflight === fetched) {
      this.#inflight = undefined;
      this.#inflightAbort = undefined;
    }
  }

  async #fetchOnce(signal: AbortSignal): Promise<Entry> {
    const fetchedAt = this.#clock.now();
    let credential: Credential;
    try {
      credential = this.#telemetry
        ? await this.#telemetry.traceCredentialFetch(this.#poolName, () =>
            this.#source.fetch(signal),
          )
        : await this.#source.fetch(signal);
    } catch (error) {
      // aborted by close() or quiesce(): shutting down, not a failure of the credential API
      if (this.#closed || signal.aborted) throw this.#closedError();
      throw this.#failed(this.#asFailure(error));
    }
    if (this.#closed || signal.aborted) throw this.#closedError();
    const expiresAt = credential?.expiresAt instanceof Date ? credential.expiresAt.getTime() : NaN;
    if (!credential?.token || !Number.isFinite(expiresAt)) {
      throw this.#failed(
        new CredentialError(`The credential source for ${this.#name} returned no usable token`, {
          retryable: true,
        }),
      );
    }
    const entry: Entry = { token: credential.token, expiresAt, fetchedAt };
    this.#current = entry;
    this.#counters.refreshes++;
    this.#failuresInARow = 0;
    this.#retryAt = 0;
    this.#callerRetryAt = 0;
    this.#lastFailure = undefined;
    const now = this.#clock.now();
    if (expiresAt <= now) {
      this.#logger.warn(`the token for ${this.#name} is already expired on arrival (clock skew?)`);
    }
    const delay = this.#nextRefreshDelay(entry);
    this.#logger.debug(
      `token for ${this.#name} refreshed, expires ${new Date(expiresAt).toISOString()} ` +
        `(in ${Math.round((expiresAt - now) / 1000)} s)` +
        (this.#refreshAheadOn ? `, next refresh in ${Math.round(delay / 1000)} s` : ''),
    );
    if (this.#refreshAheadOn) this.#schedule(delay);
    return entry;
  }

  /** Records a failed fetch: backoff, log, and (refresh-ahead) a retry timer. */
  #failed(failure: LakebaseError): LakebaseError {
    this.#counters.failures++;
    this.#failuresInARow++;
    const now = this.#clock.now();
    const backoff = backoffDelay(this.#failuresInARow, this.#backoff, this.#random);
    this.#retryAt = now + backoff;
    this.#callerRetryAt = now + Math.min(backoff, this.#foregroundRetryMs);
    this.#lastFailure = failure;
    const valid = this.#current !== undefined && isUsable(this.#current, now);
    this.#logger.warn(
      `token refresh for ${this.#name} failed (${failure.message}); ` +
        (valid ? 'still serving the current token; ' : 'no valid token; ') +
        `next attempt in ${Math.round(backoff)} ms`,
    );
    if (this.#refreshAheadOn) this.#schedule(backoff);
    return failure;
  }

  /** A `CredentialError`, or the source's own `AuthenticationError` (a user's token was refused). */
  #asFailure(error: unknown): LakebaseError {
    if (error instanceof CredentialError || error instanceof AuthenticationError) return error;
    const message = error instanceof Error ? error.message : String(error);
    return new CredentialError(
      `Fetching a token for ${this.#name} failed: ${redactSecrets(message)}`,
      { retryable: true },
    );
  }

  #refreshInBackground(): void {
    if (this.#inflight || this.#clock.now() < this.#retryAt) return;
    this.#refresh().catch(() => {
      /* logged in failed(); the current token is still valid */
    });
  }

  #nextRefreshDelay(entry: Entry): number {
    return refreshDelay(entry, this.#clock.now(), this.#refreshBufferMs, this.#minRefreshDelayMs);
  }

  #schedule(delayMs: number): void {
    this.#clearTimer();
    if (this.#closed) return;
    const handle = this.#clock.setTimeout(() => {
      this.#timer = undefined;
      if (this.#closed || !this.#refreshAheadOn) return;
      this.#refresh().catch(() => {
        /* logged and rescheduled in failed() */
      });
    }, delayMs);
    (handle as { unref?: () => unknown } | undefined)?.unref?.();
    this.#timer = handle;
  }

  #clearTimer(): void {
    if (this.#timer !== undefined) {
      this.#clock.clearTimeout(this.#timer);
      this.#timer = undefined;
    }
  }

  /** Resolves after `ms` on the clock, or at once on close(). */
  #sleep(ms: number): Promise<void> {
    return new Promise<void>((resolve) => {
      const sleep: Sleep = {
        handle: undefined,
        wake: () => {
          this.#sleeps.delete(sleep);
          resolve();
        },
      };
      sleep.handle = this.#clock.setTimeout(sleep.wake, ms);
      (sleep.handle as { unref?: () => unknown } | undefined)?.unref?.();
      this.#sleeps.add(sleep);
    });
  }

  /** `promise`, or a retryable CredentialError once the deadline passes (the fetch goes on). */
  #withDeadline(promise: Promise<Entry>, deadline: number): Promise<Entry> {
    const wait = deadline - this.#clock.now();
    if (wait <= 0) return Promise.reject(this.#noTokenInTime());
    return new Promise<Entry>((resolve, reject) => {
      const handle = this.#clock.setTimeout(() => reject(this.#noTokenInTime()), wait);
      (handle as { unref?: () => unknown } | undefined)?.unref?.();
      promise.then(
        (entry) => {
          this.#clock.clearTimeout(handle);
          resolve(entry);
        },
        (error: unknown) => {
          this.#clock.clearTimeout(handle);
          reject(error);
        },
      );
    });
  }

  /** The error of a caller whose deadline passed: the last failure, if any, says why. */
  #noTokenInTime(): CredentialError {
    const last = this.#lastFailure instanceof CredentialError ? this.#lastFailure : undefined;
    return new CredentialError(
      `No token for ${this.#name} before the connect deadline (connectionTimeoutMillis): ` +
        (last ? last.message : 'the credential API did not answer in time (credentialTimeoutMs)'),
      { retryable: true, status: last?.apiStatus, errorCode: last?.errorCode },
    );
  }

  #closedError(): ClosedError {
    return new ClosedError(`The token cache for ${this.#name} is closed`);
  }
}
