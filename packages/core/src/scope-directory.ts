/**
 * The cache of `UserScope` objects: one per (identity, token fingerprint), least recently used
 * forgotten first, with an index by identity so all scopes of a dropped pool fire `onClose`.
 */
import { LruMap } from './lru-map.js';
import type { Scope } from './user-scope.js';

export function scopeKey(identity: string, fingerprint: string): string {
  return `${identity}\u0000${fingerprint}`;
}

export class ScopeDirectory {
  private readonly scopes: LruMap<string, Scope>;
  private readonly byIdentity = new Map<string, Set<string>>();

  constructor(max: number) {
    this.scopes = new LruMap(max, (key, scope) => this.unindex(key, scope.identity));
  }

  get size(): number {
    return this.scopes.size;
  }

  get(key: string): Scope | undefined {
    return this.scopes.get(key);
  }

  add(key: string, scope: Scope): void {
    this.scopes.set(key, scope);
    let keys = this.byIdentity.get(scope.identity);
    if (!keys) {
      keys = new Set();
      this.byIdentity.set(scope.identity, keys);
    }
    keys.add(key);
  }

  /** Stops handing `scope` out (if it is still the one cached under `key`). */
  forget(key: string, scope: Scope): void {
    if (this.scopes.peek(key) !== scope) return;
    this.scopes.delete(key);
    this.unindex(key, scope.identity);
  }

  /** The identity's pool was dropped: its scopes fire `onClose` and are not handed out again. */
  dropIdentity(identity: string): void {
    const keys = this.byIdentity.get(identity);
    if (!keys) return;
    this.byIdentity.delete(identity);
    for (const key of keys) {
      const scope = this.scopes.peek(key);
      this.scopes.delete(key);
      scope?.drop();
    }
  }

  dropAll(): void {
    for (const identity of [...this.byIdentity.keys()]) this.dropIdentity(identity);
    this.scopes.clear();
  }

  private unindex(key: string, identity: string): void {
    const keys = this.byIdentity.get(identity);
    if (!keys) return;
    keys.delete(key);
    if (keys.size === 0) this.byIdentity.delete(identity);
  }
}
