/**
 * `lakebasePrisma`: one PrismaClient for the service principal and one per user scope, each on
 * its Lakebase pool. Per-user clients are cached by the scope object (never by the identity
 * string: a scope is only handed out once its token is verified) and `$disconnect`ed when core
 * forgets that scope (unused for the idle timeout, beyond its scope cache, or at close).
 */
import type { Lakebase, LakebaseConfig, RequestLike, UserScope } from '@lakebase-kit/core';
import { isUserScope, resolveAdapterLakebase, ScopedClients } from '@lakebase-kit/core/adapter';
import { type LakebasePrismaPgOptions, prismaPgForPool } from './adapter.js';

/** What we need of a generated `PrismaClient` instance. */
export interface PrismaClientLike {
  $disconnect(): Promise<void>;
}

/** A generated `PrismaClient` class (the `prisma-client` or `prisma-client-js` generator). */
// biome-ignore lint/suspicious/noExplicitAny: the generated constructor's options type is generic
export type PrismaClientClass<C extends PrismaClientLike> = new (options: any) => C;

/**
 * Your generated `PrismaClient`, plus either a shared `lakebase` or the options of the one to
 * create (flat, as every adapter takes them: `createLakebase(...)`'s options).
 */
export type LakebasePrismaOptions<C extends PrismaClientLike> = Partial<LakebaseConfig> & {
  /** Your generated `PrismaClient` class. */
  PrismaClient: PrismaClientClass<C>;
  /**
   * A shared Lakebase (never closed by `$disconnect()`). When omitted, one is created from
   * these options and closed by `$disconnect()`.
   */
  lakebase?: Lakebase;
  /** @deprecated pass the options flat. */
  config?: LakebaseConfig;
  /** Extra `PrismaClient` options for every client (`log`, `omit`, `transactionOptions`...). */
  clientOptions?: Record<string, unknown>;
  /** `PrismaPg` options for every client's adapter (`schema`, error callbacks). */
  adapterOptions?: LakebasePrismaPgOptions;
};

export interface LakebasePrisma<C extends PrismaClientLike> {
  /** The service principal's client. */
  readonly prisma: C;
  /**
   * The client of the request's user (the verb every adapter answers): every query and
   * `$transaction` runs as that user (RLS applies). The same client for the same scope;
   * `$disconnect`ed when core forgets the scope. Throws core's `AuthenticationError` (401) /
   * `ValidationError` like `lakebase.asUser(req)`.
   */
  asUser(req: RequestLike | UserScope): C;
  /** @deprecated The older name of `asUser(req)`: the same function. */
  withUser(req: RequestLike | UserScope): C;
  /**
   * The client on the read-only endpoint (`read` option), as the service principal or (with a
   * request) as its user; without one, the same client as `prisma`/`asUser(req)`. Give it to
   * `@prisma/extension-read-replicas`: `prisma.$extends(readReplicas({ replicas: [db.replica()] }))`.
   * Its reads see this app's own writes, or run on the primary.
   */
  replica(req?: RequestLike | UserScope): C;
  /** The Lakebase the clients run on. */
  readonly lakebase: Lakebase;
  /** Disconnects every client, then closes the Lakebase if this object created it. Idempotent. */
  $disconnect(): Promise<void>;
}

/**
 * ```ts
 * const db = lakebasePrisma({ PrismaClient, lakebase });
 * await db.prisma.note.count();                 // as the service principal
 * await db.asUser(req).note.findMany();         // as the signed-in user
 * ```
 */
export function lakebasePrisma<C extends PrismaClientLike>(
  options: LakebasePrismaOptions<C>,
): LakebasePrisma<C> {
  const {
    PrismaClient,
    clientOptions,
    adapterOptions,
    lakebase: shared,
    config,
    ...flat
  } = options;
  const { lakebase, owned } = resolveAdapterLakebase(shared, { ...config, ...flat });
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

  // A live client on a scope's pool, and its end when core forgets the scope.
  const scopeClient = (scope: UserScope): C => {
    const client = newClient(scope.pool);
    live.add(client);
    return client;
  };
  const dropClient = (client: C): void => {
    live.delete(client);
    void disconnectQuietly(client);
  };

  // One client per scope object; disconnected when core forgets the scope.
  const userClients = new ScopedClients<C>(scopeClient, dropClient);

  function asUser(req: RequestLike | UserScope): C {
    const scope = isUserScope(req) ? req : lakebase.asUser(req);
    // The development fallback runs as the service principal: share its client.
    if (scope.isServicePrincipalFallback || scope.pool === lakebase.pool) return prisma;
    return userClients.get(scope);
  }

  // the read-only endpoint's clients (the SP's made on first use; a user's per read scope)
  let spReplica: C | undefined;
  const readClients = new ScopedClients<C>(scopeClient, dropClient);

  function replica(req?: RequestLike | UserScope): C {
    if (!lakebase.read.replica) return req === undefined ? prisma : asUser(req);
    if (req === undefined) {
      if (!spReplica) {
        spReplica = newClient(lakebase.read.pool);
        live.add(spReplica);
      }
      return spReplica;
    }
    const scope = isUserScope(req) ? req : lakebase.asUser(req);
    if (scope.isServicePrincipalFallback) return replica();
    return readClients.get(scope.read);
  }

  // Clients stay cached: Prisma reconnects a disconnected client on its next query.
  async function $disconnect(): Promise<void> {
    await Promise.all([prisma, ...live].map(disconnectQuietly));
    if (owned) await lakebase.close(); // idempotent
  }

  return { prisma, asUser, withUser: asUser, replica, lakebase, $disconnect };
}
