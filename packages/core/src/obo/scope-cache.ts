/**
 * The cache of verified scopes by (identity, token fingerprint): bounded, least recently used
 * forgotten first, and forgotten when unused for `idleMs` (firing the scope's `onClose`). Only
 * scopes whose token is verified are kept: an unverified one is never cached with its token.
 */
import { type Clock, systemClock } from '../base/clock.js';
import { LruMap } from '../base/lru-map.js';

export function scopeKey(identity: string, fingerprint: string): string {
  return `${identity}\u0000${fingerprint}`;
}

/** What the cache needs of a scope. */
export interface CachedScope {
  readonly identity: string;
  /** True once its `pool.end()` was called: the cache hands out a fresh scope instead. */
  readonly isPoolEnded: boolean;
  /** Fires its `onClose` listeners (once). */
  drop(): void;
}

const RECENCY_STEP_MS = 1000;
/** Scopes of the same key verified at once besides the cached one (forgotten with it). */
const MAX_SIBLINGS = 16;

interface Entry<S extends CachedScope> {
  scope: S;
  lastUsed: number;
  movedAt: number;
  /** Scopes of the same (identity, token) that were verified while this one was cached. */
  siblings?: S[];
}

function dropEntry<S extends CachedScope>(entry: Entry<S>): void {
  entry.scope.drop();
  for (const sibling of entry.siblings ?? []) sibling.drop();
}

/** The cached scopes: bounded, least recently used forgotten first, and forgotten when idle. */
export class ScopeCache<S extends CachedScope> {
  readonly #scopes: LruMap<string, Entry<S>>;
  readonly #idleMs: number;
  readonly #clock: Clock;
  #sweepTimer: unknown;

  constructor(options: { max: number; idleMs: number; clock?: Clock }) {
    this.#scopes = new LruMap(options.max, (_key, entry) => dropEntry(entry));
    this.#idleMs = options.idleMs;
    this.#clock = options.clock ?? systemClock;
  }

  get size(): number {
    return this.#scopes.size;
  }

  /** The distinct identities of the cached scopes (bounded by the cache). */
  identities(): string[] {
    return [...new Set([...this.#scopes.values()].map((entry) => entry.scope.identity))];
  }

  get(key: string): S | undefined {
    const entry = this.#scopes.peek(key);
    if (!entry) return undefined;
    if (entry.scope.isPoolEnded) {
      this.forget(key, entry.scope);
      return undefined;
    }
    const now = this.#clock.now();
    // recency moves at most once a second per scope: the order is LRU to the second, and a
    // busy scope costs a lookup per request instead of a Map delete + insert
    if (now - entry.movedAt >= RECENCY_STEP_MS) {
      this.#scopes.get(key); // to the most recent end
      entry.movedAt = now;
    }
    entry.lastUsed = now;
    return entry.scope;
  }

  add(key: string, scope: S): void {
    const now = this.#clock.now();
    this.#scopes.set(key, { scope, lastUsed: now, movedAt: now });
    this.#startSweeping();
  }

  /**
   * A scope whose token was just verified: cached under `key`, unless another scope of the
   * same key already is (two first requests at once); then it is forgotten together with that
   * one, so every verified scope's `onClose` fires in time.
   */
  adopt(key: string, scope: S): void {
    const entry = this.#scopes.peek(key);
    if (!entry || entry.scope.isPoolEnded) {
      if (entry) this.forget(key, entry.scope);
      this.add(key, scope);
      return;
    }
    if (entry.scope === scope || entry.siblings?.includes(scope)) return;
    entry.siblings ??= [];
    entry.siblings.push(scope);
    if (entry.siblings.length > MAX_SIBLINGS) entry.siblings.shift()?.drop();
  }

  /** Stops handing `scope` out (if it is still the one cached under `key`). */
  forget(key: string, scope: S): void {
    const entry = this.#scopes.peek(key);
    if (entry?.scope !== scope) return;
    this.#scopes.delete(key);
    dropEntry(entry);
  }

  /** Forgets every scope (their `onClose` fires). */
  clear(): void {
    const entries = [...this.#scopes.values()];
    this.#scopes.clear();
    for (const entry of entries) dropEntry(entry);
    if (this.#sweepTimer !== undefined) this.#clock.clearTimeout(this.#sweepTimer);
    this.#sweepTimer = undefined;
  }

  #startSweeping(): void {
    if (this.#sweepTimer !== undefined || this.#idleMs <= 0) return;
    this.#sweepTimer = this.#clock.setTimeout(
      () => {
        this.#sweepTimer = undefined;
        const cutoff = this.#clock.now() - this.#idleMs;
        for (const [key, entry] of [...this.#scopes.entries()]) {
          if (entry.lastUsed <= cutoff) {
            this.#scopes.delete(key);
            dropEntry(entry);
          }
        }
        if (this.#scopes.size > 0) this.#startSweeping();
      },
      Math.max(1, this.#idleMs / 2),
    );
    (this.#sweepTimer as { unref?: () => unknown } | undefined)?.unref?.();
  }
}
