/**
 * Drizzle's query cache, per user. Drizzle keys cached results on the SQL and its parameters,
 * and Row-Level Security makes the same SQL return different rows for different users: one
 * cache shared by every user's database would serve bob alice's rows. `UserCache` puts the
 * app's cache behind a per-identity key space: every key and tag of a user's database is
 * prefixed with a hash of that user's identity (the service principal's database keeps the
 * cache as given). Invalidation by table reaches every user's entries — the rows changed for
 * everyone — and invalidation by tag reaches the invalidating user's own.
 */
import { createHash } from 'node:crypto';
import { entityKind } from 'drizzle-orm';
import { Cache } from 'drizzle-orm/cache/core';
import type { CacheConfig } from 'drizzle-orm/cache/core/types';

type MutationOption = Parameters<Cache['onMutate']>[0];

export class UserCache extends Cache {
  static override readonly [entityKind]: string = 'LakebaseUserCache';
  readonly #inner: Cache;
  readonly #prefix: string;

  constructor(inner: Cache, identity: string) {
    super();
    this.#inner = inner;
    this.#prefix = `lakebase-user:${createHash('sha256').update(identity).digest('base64url')}:`;
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
    return this.#inner.get(this.#prefix + key, tables, isTag, isAutoInvalidate);
  }

  override put(
    key: string,
    response: unknown,
    tables: string[],
    isTag: boolean,
    config?: CacheConfig,
  ): Promise<void> {
    return this.#inner.put(this.#prefix + key, response, tables, isTag, config);
  }

  override onMutate(params: MutationOption): Promise<void> {
    const { tags } = params;
    if (tags === undefined) return this.#inner.onMutate(params);
    const prefixed = (Array.isArray(tags) ? tags : [tags]).map((tag) => this.#prefix + tag);
    return this.#inner.onMutate({ ...params, tags: prefixed });
  }
}
