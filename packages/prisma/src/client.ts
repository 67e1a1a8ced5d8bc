/**
 * `lakebasePrisma`: one PrismaClient for the service principal and one per user scope, each on
 * its Lakebase pool. Per-user clients are cached by the scope object (never by the identity
 * string: a scope is only handed out once its token is verified) and `$disconnect`ed when core
 * drops that user's pool (idle timeout, LRU eviction, close).
 */
import {
  createLakebase,
  type Lakebase,
  type LakebaseConfig,
  type RequestLike,
  ScopeCache,
  type UserScope,
} from '@lakebase-kit/core';
import { type LakebasePrismaPgOptions, prismaPgForPool } from './adapter.js';

/** What we need of a generated `PrismaClient` instance. */
export interface PrismaClientLike {
  $disconnect(): Promise<void>;
}

/** A generated `PrismaClient` class (the `prisma-client` or `prisma-client-js` generator). */
// biome-ignore lint/suspicious/noExplicitAny: the generated constructor's options type is generic
export type PrismaClientClass<C extends PrismaClientLike> = new (options: any) => C;

export interface LakebasePrismaOptions<C extends PrismaClientLike> {
  /** Your generated `PrismaClient` class. */
  PrismaClient: PrismaClientClass<C>;
  /**
   * A shared Lakebase (never closed by `$disconnect()`). When omitted, one is created with
   * `createLakebase(config)` and closed by `$disconnect()`.
   */
  lakebase?: Lakebase;
  /** Config for the Lakebase created when `lakebase` is omitted. */
  config?: LakebaseConfig;
  /** Extra `PrismaClient` options for every client (`log`, `omit`, `transactionOptions`...). */
  clientOptions?: Record<string, unknown>;
  /** `PrismaPg` options for every client's adapter (`schema`, error callbacks). */
  adapterOptions?: LakebasePrismaPgOptions;
}

export interface LakebasePrisma<C extends PrismaClientLike> {
  /** The service principal's client. */
  readonly prisma: C;
  /**
   * The client of the request's user: every query and `$transaction` runs as that user (RLS
   * applies). The same client for the same scope; `$disconnect`ed when the user's pool is dropped.
   * Throws core's `AuthenticationError` (401) / `ValidationError` like `lakebase.asUser(req)`.
   */
  withUser(req: RequestLike | UserScope): C;
  /** The Lakebase the clients run on. */
  readonly lakebase: Lakebase;
  /** Disconnects every client, then closes the Lakebase if this object created it. Idempotent. */
  $disconnect(): Promise<void>;
}

function isUserScope(value: unknown): value is UserScope {
  const scope = value as Partial<UserScope> | null;
  return (
    typeof scope === 'object' &&
    scope !== null &&
    typeof scope.identity === 'string' &&
    typeof scope.onClose === 'function' &&
    typeof scope.query === 'function' &&
    scope.pool !== undefined
  );
}

/**
 * ```ts
 * const db = lakebasePrisma({ PrismaClient, lakebase });
 * await db.prisma.note.count();                 // as the service principal
 * await db.withUser(req).note.findMany();       // as the signed-in user
 * ```
 */
export function lakebasePrisma<C extends PrismaClientLike>(
  options: LakebasePrismaOptions<C>,
): LakebasePrisma<C> {
  const { PrismaClient, clientOptions, adapterOptions } = options;
  const owned = options.lakebase === undefined;
  const lakebase = options.lakebase ?? createLakebase(options.config);
  const newClient = (pool: Parameters<typeof prismaPgForPool>[0]): C =>
    new PrismaClient({ ...clientOptions, adapter: prismaPgForPool(pool, adapterOptions) });

  const prisma = newClient(lakebase.pool);
  const live = new Set<C>();

  const disconnectQuietly = async (client: C): Promise<void> => {
    try {
      await client.$disconnect();
    } catch {
      // Its pool is already gone; nothing is left to release.
    }
  };

  // One client per scope object; disconnected when core drops the user's pool.
  const userClients = new ScopeCache<C>(
    (scope) => {
      const client = newClient(scope.pool);
      live.add(client);
      return client;
    },
    (client) => {
      live.delete(client);
      void disconnectQuietly(client);
    },
  );

  function withUser(req: RequestLike | UserScope): C {
    const scope = isUserScope(req) ? req : lakebase.asUser(req);
    // The development fallback runs as the service principal: share its client.
    if (scope.isServicePrincipalFallback || scope.pool === lakebase.pool) return prisma;
    return userClients.get(scope);
  }

  // Clients stay cached: Prisma reconnects a disconnected client on its next query.
  async function $disconnect(): Promise<void> {
    await Promise.all([prisma, ...live].map(disconnectQuietly));
    if (owned) await lakebase.close(); // idempotent
  }

  return { prisma, withUser, lakebase, $disconnect };
}
