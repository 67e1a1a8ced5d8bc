/**
 * Drizzle's query cache, per user. Drizzle keys cached results on the SQL and its parameters,
 * and Row-Level Security makes the same SQL return different rows for different users: one
 * cache shared by every user's database would serve bob alice's rows. `UserCache` puts the
 * app's cache behind a per-identity key space: every key and tag of a user's database is
 * prefixed with a hash of that user's identity (the service principal's database keeps the
 * cache as given). Invalidation by table reaches every user's entries — the rows changed for
 * everyone — and invalidation by tag reaches the invalidating user's own.
 *
 * The key space is the verified identity's: until the request's token is verified (the first
 * query does it), `identity` is only what the headers claim, so the cache is neither read nor
 * written — a forged token claiming alice's name gets a miss, and its query is refused.
 */
import { createHash } from 'node:crypto';
import { entityKind } from 'drizzle-orm';
import { Cache } from 'drizzle-orm/cache/core';
import type { CacheConfig } from 'drizzle-orm/cache/core/types';

/** What the cache needs of a user scope (`lakebase.asUser(req)`). */
interface VerifiedIdentity {
  readonly identity: string;
  readonly isVerified: boolean;
}

type MutationOption = Parameters<Cache['onMutate']>[0];

export class UserCache extends Cache {
  static override readonly [entityKind]: string = 'LakebaseUserCache';
  readonly #inner: Cache;
  readonly #scope: VerifiedIdentity;
  /** The prefix of `#prefixOf` (the identity is settled once, at verification). */
  #prefixOf: string | undefined;
  #prefix = '';

  constructor(inner: Cache, scope: VerifiedIdentity) {
    super();
    this.#inner = inner;
    this.#scope = scope;
  }

  /** The verified identity's key prefix; undefined while the token is not verified. */
  #verifiedPrefix(): string | undefined {
    const scope = this.#scope;
    if (!scope.isVerified) return undefined;
    if (this.#prefixOf !== scope.identity) {
      this.#prefixOf = scope.identity;
      this.#prefix = `lakebase-user:${createHash('sha256').update(scope.identity).digest('base64url')}:`;
    }
    return this.#prefix;
  }

  override strategy(): 'explicit' | 'all' {
    return this.#inner.strategy();
  }

  override get(
    key: string,
    tables: string[],
    isTag: boolean,
    isAutoInvalidate?: boolean,
  ): Promise<unknown[] | undefined> {
    const prefix = this.#verifiedPrefix();
    if (prefix === undefined) return Promise.resolve(undefined); // a miss: the query verifies
    return this.#inner.get(prefix + key, tables, isTag, isAutoInvalidate);
  }

  override put(
    key: string,
    response: unknown,
    tables: string[],
    isTag: boolean,
    config?: CacheConfig,
  ): Promise<void> {
    const prefix = this.#verifiedPrefix();
    if (prefix === undefined) return Promise.resolve(); // (a query's answer is verified by then)
    return this.#inner.put(prefix + key, response, tables, isTag, config);
  }

  override onMutate(params: MutationOption): Promise<void> {
    const { tags } = params;
    if (tags === undefined) return this.#inner.onMutate(params);
    const prefix = this.#verifiedPrefix();
    if (prefix === undefined) return Promise.resolve(); // nothing of this claim's is cached
    const prefixed = (Array.isArray(tags) ? tags : [tags]).map((tag) => prefix + tag);
    return this.#inner.onMutate({ ...params, tags: prefixed });
  }
}
