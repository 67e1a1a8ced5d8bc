/**
 * The Prisma driver adapter over a Lakebase pool. `@prisma/adapter-pg` only uses a pool it is
 * given when that pool is a real `pg.Pool` of the very `pg` copy it imports; anything else is
 * taken for a config and a fresh pool (without Lakebase tokens) is built behind your back. We
 * check that it really kept our pool, and never let it end a pool that Lakebase owns.
 */
import { ConfigurationError, type Lakebase, type LakebaseConfig } from '@lakebase-kit/core';
import { resolveAdapterLakebase } from '@lakebase-kit/core/adapter';
import { PrismaPg } from '@prisma/adapter-pg';
import type pg from 'pg';
import { adapterAcceptsPool } from './pg-of-adapter.js';

/** Options of `PrismaPg` that make sense over a Lakebase pool (it never ends the pool). */
export interface LakebasePrismaPgOptions {
  /** The Postgres schema Prisma's generated queries use (default: `public`). */
  schema?: string;
  /** Called with errors of idle pool connections. */
  onPoolError?: (err: Error) => void;
  /** Called with errors of a connection held by an interactive transaction. */
  onConnectionError?: (err: Error) => void;
}

/**
 * A shared `lakebase`, or the options of the one to create (`createLakebase(...)`), flat, as
 * every adapter takes them. `config` is the older spelling of the flat options.
 */
export type LakebasePrismaAdapterOptions = LakebasePrismaPgOptions &
  Partial<LakebaseConfig> & {
    /**
     * A shared Lakebase. When omitted, one is created from these options and the environment;
     * close it with `adapter.lakebase.close()` on shutdown.
     */
    lakebase?: Lakebase;
    /** @deprecated pass the options flat. */
    config?: LakebaseConfig;
  };

/** A `PrismaPg` adapter factory that also tells which Lakebase it runs on. */
export type LakebasePrismaAdapter = PrismaPg & { readonly lakebase: Lakebase };

/**
 * A `PrismaPg` over `pool` that never ends it. Throws a `ConfigurationError` when
 * `@prisma/adapter-pg` did not accept the pool as its own (two copies of `pg` installed).
 */
export function prismaPgForPool(pool: pg.Pool, options: LakebasePrismaPgOptions = {}): PrismaPg {
  if (!adapterAcceptsPool(pool)) {
    throw new ConfigurationError(
      '@prisma/adapter-pg did not accept the Lakebase pool as a pg.Pool: more than one copy of ' +
        '"pg" is installed. Make @prisma/adapter-pg and @lakebase-kit/core resolve the same "pg" ' +
        '(dedupe it in your lockfile).',
      { option: 'pg' },
    );
  }
  return new PrismaPg(pool, {
    schema: options.schema,
    onPoolError: options.onPoolError,
    onConnectionError: options.onConnectionError,
    disposeExternalPool: false,
  });
}

/**
 * A Prisma driver adapter over the service principal's pool.
 *
 * ```ts
 * const prisma = new PrismaClient({ adapter: lakebasePrismaAdapter({ lakebase }) });
 * ```
 */
export function lakebasePrismaAdapter(
  options: LakebasePrismaAdapterOptions = {},
): LakebasePrismaAdapter {
  const { schema, onPoolError, onConnectionError, lakebase: shared, config, ...flat } = options;
  const { lakebase } = resolveAdapterLakebase(shared, { ...config, ...flat });
  const adapter = prismaPgForPool(lakebase.pool, { schema, onPoolError, onConnectionError });
  Object.defineProperty(adapter, 'lakebase', { value: lakebase, enumerable: false });
  return adapter as LakebasePrismaAdapter;
}
