/**
 * The `pg` module that `@prisma/adapter-pg` itself imports, found through Node's public module
 * resolution from the adapter's own location. The adapter only keeps a pool that is an
 * instance of that module's `Pool`; any other object is taken for a config, and a fresh pool
 * without Lakebase tokens would be built behind your back.
 */
import { createRequire } from 'node:module';
import type pg from 'pg';

let cached: typeof pg.Pool | undefined;

/** `Pool` of the `pg` that `@prisma/adapter-pg` resolves. */
export function adapterPgPool(): typeof pg.Pool {
  if (!cached) {
    const fromHere = createRequire(import.meta.url);
    const adapterEntry = fromHere.resolve('@prisma/adapter-pg');
    const pgOfAdapter = createRequire(adapterEntry)('pg') as typeof pg & { default?: typeof pg };
    cached = (pgOfAdapter.default ?? pgOfAdapter).Pool;
  }
  return cached;
}

/** True when `@prisma/adapter-pg` will keep `pool` as its own (the same `pg` copy). */
export function adapterAcceptsPool(pool: unknown): boolean {
  return pool instanceof adapterPgPool();
}
