import type { UserScope } from '@lakebase-kit/core';

/**
 * One client per `UserScope` object — never per identity string, so an unverified token can
 * never reuse the client of a verified scope. The entry is dropped when core drops the user's
 * pool (idle timeout, LRU eviction, close).
 */
export class ScopeCache<T extends object> {
  readonly #entries = new WeakMap<UserScope, { client: T; unsubscribe: () => void }>();

  constructor(private readonly create: (scope: UserScope) => T) {}

  get(scope: UserScope): T {
    const cached = this.#entries.get(scope);
    if (cached) return cached.client;
    const client = this.create(scope);
    const unsubscribe = scope.onClose(() => this.forget(scope, client));
    this.#entries.set(scope, { client, unsubscribe });
    return client;
  }

  /** Drops `client` if it is still the one cached for `scope`. */
  forget(scope: UserScope, client: T): void {
    const entry = this.#entries.get(scope);
    if (entry?.client !== client) return;
    this.#entries.delete(scope);
    entry.unsubscribe();
  }
}
