/**
 * One Drizzle cache for the whole app never crosses users: Drizzle keys results on SQL and
 * parameters, RLS makes the same SQL return other rows for another user, so each user's
 * database gets its own key space in the app's cache.
 */
import { fileURLToPath } from 'node:url';
import type { LocalLakebase } from '@lakebase-kit/local';
import { Cache } from 'drizzle-orm/cache/core';
import type { CacheConfig } from 'drizzle-orm/cache/core/types';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as schema from '../examples/schema.js';
import { type LakebaseDrizzle, lakebaseDrizzle, migrate } from '../src/index.js';
import { ALICE, BOB, startWorld, stopWorld } from './world.js';

/** A plain in-memory cache with Drizzle's "all" strategy (every select cached, writes invalidate). */
class MapCache extends Cache {
  readonly entries = new Map<string, { rows: unknown; tables: string[] }>();
  hits = 0;
  override strategy(): 'all' {
    return 'all';
  }
  override async get(key: string): Promise<unknown[] | undefined> {
    const entry = this.entries.get(key);
    if (entry) this.hits++;
    return entry?.rows as unknown[] | undefined;
  }
  override async put(
    key: string,
    rows: unknown,
    tables: string[],
    _tag: boolean,
    _c?: CacheConfig,
  ) {
    this.entries.set(key, { rows, tables });
  }
  override async onMutate(params: { tags?: string | string[]; tables?: unknown }): Promise<void> {
    const tables = [params.tables ?? []].flat().map((t) => (typeof t === 'string' ? t : String(t)));
    const tags = [params.tags ?? []].flat();
    for (const [key, entry] of this.entries) {
      if (tags.includes(key) || entry.tables.some((t) => tables.some((m) => m.includes(t)))) {
        this.entries.delete(key);
      }
    }
  }
}

const { notes } = schema;
let lb: LocalLakebase;
let db: LakebaseDrizzle<typeof schema>;
const cache = new MapCache();

beforeAll(async () => {
  lb = await startWorld();
  db = lakebaseDrizzle({ schema, cache });
  await migrate(db, {
    migrationsFolder: fileURLToPath(new URL('../examples/drizzle', import.meta.url)),
  });
  await db.insert(notes).values({ body: 'from the SP' });
});

afterAll(async () => {
  await db?.$close();
  await stopWorld(lb);
});

describe('lakebaseDrizzle({ cache })', () => {
  it("serves each user their own cached rows, never another user's", async () => {
    const alice = db.asUser(await lb.userHeaders(ALICE));
    const bob = db.asUser(await lb.userHeaders(BOB));
    await alice.insert(notes).values({ body: 'alice secret' });
    await bob.insert(notes).values({ body: 'bob note' });

    const aliceFirst = await alice.select({ body: notes.body }).from(notes);
    expect(aliceFirst).toEqual([{ body: 'alice secret' }]);
    // the very same SQL and parameters, as bob: his rows, not alice's cached answer
    expect(await bob.select({ body: notes.body }).from(notes)).toEqual([{ body: 'bob note' }]);
    expect(await db.select({ body: notes.body }).from(notes)).toHaveLength(3);

    // and the cache does work, per user
    const hits = cache.hits;
    expect(await alice.select({ body: notes.body }).from(notes)).toEqual(aliceFirst);
    expect(await bob.select({ body: notes.body }).from(notes)).toEqual([{ body: 'bob note' }]);
    expect(cache.hits).toBe(hits + 2);
    // three key spaces: alice's, bob's and the SP's
    expect(cache.entries.size).toBeGreaterThanOrEqual(3);
  });

  it("a forged token claiming alice's name gets no cached row: the cache waits for verification", async () => {
    const alice = db.asUser(await lb.userHeaders(ALICE));
    const cached = await alice.select({ body: notes.body }).from(notes);
    expect(cached).toContainEqual({ body: 'alice secret' });
    const hits = cache.hits;
    const bobsToken = (await lb.userHeaders(BOB))['x-forwarded-access-token']!;
    for (const token of ['not-a-token', bobsToken]) {
      const forged = db.asUser({ 'x-forwarded-access-token': token, 'x-forwarded-email': ALICE });
      const answer = await forged
        .select({ body: notes.body })
        .from(notes)
        .then(
          (rows) => ({ rows }),
          // Drizzle wraps the driver's error (DrizzleQueryError): ours is its cause
          (error: Error) => ({ error: ((error.cause as Error | undefined) ?? error).name }),
        );
      expect(answer).toEqual({ error: 'AuthenticationError' });
    }
    expect(cache.hits).toBe(hits);
    // alice herself is still served from the cache
    expect(await alice.select({ body: notes.body }).from(notes)).toEqual(cached);
    expect(cache.hits).toBe(hits + 1);
  });
});
