/**
 * One identity's Postgres token: single-flight fetch, refresh-ahead timer, jittered
 * exponential backoff on failure, `invalidate()`, stats. Connects wait on the credential API
 * only when no valid token is cached.
 */
import { ClosedError, CredentialError, redactSecrets } from './errors.js';
import { type Logger, silentLogger } from './logger.js';
import { type Telemetry, traceCredentialFetch } from './telemetry.js';
import type {
  Clock,
  Credential,
  CredentialSource,
  TokenCacheStats,
  TokenProvider,
} from './types.js';

export const realClock: Clock = {
  now: () => Date.now(),
  setTimeout: (fn, ms) => setTimeout(fn, ms),
  clearTimeout: (handle) => clearTimeout(handle as NodeJS.Timeout),
};

export interface TokenCacheOptions {
  source: CredentialSource;
  /** Shown in debug logs (e.g. `service principal`, or a user identity). */
  name: string;
  /** Refresh this long before expiry (default 120000); half-life when the token is shorter. */
  refreshBufferMs?: number;
  /** Never schedule a refresh sooner than this (default 1000). */
  minRefreshDelayMs?: number;
  /** Background refresh before expiry (default true); when false, stale tokens refresh on use. */
  refreshAhead?: boolean;
  /** First backoff delay after a failed refresh (default 1000), doubling up to `maxBackoffMs`. */
  backoffMs?: number;
  maxBackoffMs?: number;
  clock?: Clock;
  logger?: Logger;
  random?: () => number;
  telemetry?: Telemetry;
  /** Low-cardinality metric attribute (default `lakebase:sp`). */
  poolName?: string;
}

interface Entry extends Credential {
  fetchedAt: number;
}

export class TokenCache implements TokenProvider {
  private readonly source: CredentialSource;
  private readonly name: string;
  private readonly refreshBufferMs: number;
  private readonly minRefreshDelayMs: number;
  private readonly backoffMs: number;
  private readonly maxBackoffMs: number;
  private readonly clock: Clock;
  private readonly logger: Logger;
  private readonly random: () => number;
  private readonly telemetry: Telemetry | undefined;
  private readonly poolName: string;
  private refreshAhead: boolean;
  private current: Entry | undefined;
  private inflight: Promise<Entry> | undefined;
  private timer: unknown;
  private failuresInARow = 0;
  /** After a failure, no background refresh before this time (lazy mode rate limit). */
  private retryAt = 0;
  private closed = false;
  private readonly counters: TokenCacheStats = {
    hits: 0,
    misses: 0,
    refreshes: 0,
    failures: 0,
    invalidations: 0,
  };

  constructor(opts: TokenCacheOptions) {
    this.source = opts.source;
    this.name = opts.name;
    this.refreshBufferMs = opts.refreshBufferMs ?? 120_000;
    this.minRefreshDelayMs = opts.minRefreshDelayMs ?? 1000;
    this.refreshAhead = opts.refreshAhead ?? true;
    this.backoffMs = opts.backoffMs ?? 1000;
    this.maxBackoffMs = opts.maxBackoffMs ?? 30_000;
    this.clock = opts.clock ?? realClock;
    this.logger = opts.logger ?? silentLogger;
    this.random = opts.random ?? Math.random;
    this.telemetry = opts.telemetry;
    this.poolName = opts.poolName ?? 'lakebase:sp';
  }

  /** A valid token; waits on the credential source only when none is cached. */
  async getToken(): Promise<string> {
    if (this.closed) throw new ClosedError(`Token cache for ${this.name} is closed`);
    const now = this.clock.now();
    const entry = this.current;
    if (entry && this.usable(entry, now)) {
      this.counters.hits++;
      this.telemetry?.cacheLookup(this.poolName, true);
      // Lazy mode: past the refresh point, serve the valid token and refresh in the background.
      if (!this.refreshAhead && now >= this.refreshAt(entry)) this.refreshInBackground();
      return entry.token;
    }
    this.counters.misses++;
    this.telemetry?.cacheLookup(this.poolName, false);
    return (await this.refresh()).token;
  }

  /** The cached credential, if any (valid or not). */
  peek(): Credential | undefined {
    return this.current
      ? { token: this.current.token, expiresAt: this.current.expiresAt }
      : undefined;
  }

  /** Forget `token` (or the current one) after the server rejected it. */
  invalidate(token?: string): void {
    if (!this.current) return;
    if (token !== undefined && this.current.token !== token) return; // already replaced
    this.current = undefined;
    this.counters.invalidations++;
    this.logger.debug(`token for ${this.name} invalidated`);
  }

  setRefreshAhead(enabled: boolean): void {
    if (this.refreshAhead === enabled) return;
    this.refreshAhead = enabled;
    if (!enabled) this.clearTimer();
    else if (this.current) this.schedule(this.delayUntilRefresh(this.current));
  }

  stats(): TokenCacheStats {
    return { ...this.counters };
  }

  close(): void {
    this.closed = true;
    this.clearTimer();
    this.current = undefined;
  }

  /** Single-flight fetch: every concurrent caller shares one credential API call. */
  refresh(): Promise<Entry> {
    if (this.closed)
      return Promise.reject(new ClosedError(`Token cache for ${this.name} is closed`));
    if (!this.inflight) {
      this.inflight = this.fetchOnce().finally(() => {
        this.inflight = undefined;
      });
    }
    return this.inflight;
  }

  private async fetchOnce(): Promise<Entry> {
    const startedAt = this.clock.now();
    try {
      const credential = this.telemetry
        ? await traceCredentialFetch(this.telemetry, this.poolName, () => this.source.fetch())
        : await this.source.fetch();
      const expiresAt = credential.expiresAt.getTime();
      if (!credential.token || !Number.isFinite(expiresAt)) {
        throw new CredentialError(
          `The credential source for ${this.name} returned no usable token`,
          {
            retryable: true,
          },
        );
      }
      const entry: Entry = {
        token: credential.token,
        expiresAt: credential.expiresAt,
        fetchedAt: startedAt,
      };
      if (this.closed) return entry;
      this.current = entry;
      this.counters.refreshes++;
      this.failuresInARow = 0;
      const now = this.clock.now();
      if (expiresAt <= now) {
        this.logger.warn(`the token for ${this.name} is already expired on arrival (clock skew?)`);
      }
      const delay = this.delayUntilRefresh(entry);
      this.logger.debug(
        `token for ${this.name} refreshed, expires ${credential.expiresAt.toISOString()} ` +
          `(in ${Math.round((expiresAt - now) / 1000)} s)` +
          (this.refreshAhead ? `, next refresh in ${Math.round(delay / 1000)} s` : ''),
      );
      if (this.refreshAhead) this.schedule(delay);
      return entry;
    } catch (error) {
      const failure =
        error instanceof CredentialError || error instanceof ClosedError
          ? error
          : new CredentialError(
              `Fetching a token for ${this.name} failed: ${redactSecrets(error instanceof Error ? error.message : String(error))}`,
              { retryable: true },
            );
      if (this.closed) throw failure;
      this.counters.failures++;
      this.failuresInARow++;
      const valid = this.current && this.usable(this.current, this.clock.now());
      const backoff = this.nextBackoff();
      this.retryAt = this.clock.now() + backoff;
      this.logger.warn(
        `token refresh for ${this.name} failed (${failure.message}); ` +
          (valid ? 'still serving the current token; ' : 'no valid token; ') +
          `retrying in ${Math.round(backoff)} ms`,
      );
      if (this.refreshAhead) this.schedule(backoff);
      throw failure;
    }
  }

  private refreshInBackground(): void {
    if (this.inflight || this.clock.now() < this.retryAt) return;
    this.refresh().catch(() => {
      /* logged in fetchOnce; the current token is still valid */
    });
  }

  /** Usable for a new login: valid now, with a margin of min(5 s, 10 % of its lifetime). */
  private usable(entry: Entry, now: number): boolean {
    const expiresAt = entry.expiresAt.getTime();
    const lifetime = Math.max(0, expiresAt - entry.fetchedAt);
    return now < expiresAt - Math.min(5000, lifetime / 10);
  }

  /** expiresAt − buffer, or half-life when the buffer does not fit in half the lifetime. */
  private refreshAt(entry: Entry): number {
    const expiresAt = entry.expiresAt.getTime();
    const lifetime = expiresAt - entry.fetchedAt;
    if (!Number.isFinite(lifetime) || lifetime <= 0) return entry.fetchedAt;
    return this.refreshBufferMs * 2 > lifetime
      ? entry.fetchedAt + lifetime / 2
      : expiresAt - this.refreshBufferMs;
  }

  private delayUntilRefresh(entry: Entry): number {
    const delay = this.refreshAt(entry) - this.clock.now();
    return Number.isFinite(delay)
      ? Math.max(this.minRefreshDelayMs, delay)
      : this.minRefreshDelayMs;
  }

  /** Jittered exponential backoff: base·2^(n−1), capped, times a factor in [0.5, 1). */
  private nextBackoff(): number {
    const exp = Math.min(
      this.maxBackoffMs,
      this.backoffMs * 2 ** Math.max(0, this.failuresInARow - 1),
    );
    return Math.max(this.minRefreshDelayMs, exp * (0.5 + this.random() * 0.5));
  }

  private schedule(delayMs: number): void {
    this.clearTimer();
    if (this.closed) return;
    const handle = this.clock.setTimeout(() => {
      this.timer = undefined;
      if (this.closed || !this.refreshAhead) return;
      this.refresh().catch(() => {
        /* logged and rescheduled in fetchOnce */
      });
    }, delayMs);
    (handle as { unref?: () => unknown } | undefined)?.unref?.();
    this.timer = handle;
  }

  private clearTimer(): void {
    if (this.timer !== undefined) {
      this.clock.clearTimeout(this.timer);
      this.timer = undefined;
    }
  }
}
