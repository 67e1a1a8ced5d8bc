/**
 * ORM accessors of the plugin. The adapters are optional peer dependencies: they are imported
 * once at plugin setup when installed, and an accessor whose adapter is missing throws a
 * `ConfigurationError` (AppKit's) that says what to install. Every client shares the plugin's one
 * `Lakebase`, so Drizzle, Kysely, Prisma and `query` use the same bounded pools.
 */
import { ConfigurationError } from '@databricks/appkit';
import type { Lakebase, Logger } from '@lakebase-kit/core';
import type * as DrizzleAdapter from '@lakebase-kit/drizzle';
import type * as KyselyAdapter from '@lakebase-kit/kysely';
import type * as PrismaAdapter from '@lakebase-kit/prisma';

type DrizzleModule = typeof DrizzleAdapter;
type KyselyModule = typeof KyselyAdapter;
type PrismaModule = typeof PrismaAdapter;

export interface OrmModules {
  drizzle?: DrizzleModule;
  kysely?: KyselyModule;
  prisma?: PrismaModule;
}

type Schema = Record<string, unknown>;
export type DrizzleDb<TSchema extends Schema> = DrizzleAdapter.LakebaseDrizzle<TSchema>;
export type KyselyHandle<DB> = KyselyAdapter.LakebaseKysely<DB>;
export type PrismaHandle<C extends PrismaAdapter.PrismaClientLike> =
  PrismaAdapter.LakebasePrisma<C>;
export type PrismaClientClass<C extends PrismaAdapter.PrismaClientLike> =
  PrismaAdapter.PrismaClientClass<C>;

function isModuleNotFound(error: unknown): boolean {
  const code = (error as { code?: unknown } | null)?.code;
  return code === 'ERR_MODULE_NOT_FOUND' || code === 'MODULE_NOT_FOUND';
}

async function optionalImport<T>(load: () => Promise<T>, name: string, logger: Logger) {
  try {
    return await load();
  } catch (error) {
    if (isModuleNotFound(error)) {
      logger.debug(`${name} is not installed; its accessor is unavailable`);
      return undefined;
    }
    throw error;
  }
}

/** Imports whichever adapters are installed (each with its ORM). */
export async function loadOrmModules(logger: Logger): Promise<OrmModules> {
  const [drizzle, kysely, prisma] = await Promise.all([
    optionalImport(() => import('@lakebase-kit/drizzle'), '@lakebase-kit/drizzle', logger),
    optionalImport(() => import('@lakebase-kit/kysely'), '@lakebase-kit/kysely', logger),
    optionalImport(() => import('@lakebase-kit/prisma'), '@lakebase-kit/prisma', logger),
  ]);
  return { drizzle, kysely, prisma };
}

function missing(accessor: string, packages: string): ConfigurationError {
  return new ConfigurationError(
    `AppKit.lakebase.${accessor}() needs ${packages}; install them (pnpm add ${packages}) and restart`,
    { context: { option: accessor } },
  );
}

const NO_SCHEMA = {};

/** The ORM clients of one plugin instance, cached so that each is built once. */
export class OrmAccessors {
  readonly #drizzle = new WeakMap<object, DrizzleDb<Schema>>();
  #kysely: KyselyHandle<unknown> | undefined;
  readonly #prisma = new Map<unknown, PrismaHandle<PrismaAdapter.PrismaClientLike>>();

  constructor(
    private readonly lakebase: Lakebase,
    private readonly modules: OrmModules,
  ) {}

  drizzle<TSchema extends Schema = Record<string, never>>(schema?: TSchema): DrizzleDb<TSchema> {
    const mod = this.modules.drizzle;
    if (!mod) throw missing('drizzle', '@lakebase-kit/drizzle drizzle-orm');
    const key = schema ?? NO_SCHEMA;
    let db = this.#drizzle.get(key);
    if (!db) {
      db = mod.lakebaseDrizzle<Schema>({ lakebase: this.lakebase, schema }) as DrizzleDb<Schema>;
      this.#drizzle.set(key, db);
    }
    return db as unknown as DrizzleDb<TSchema>;
  }

  kysely<DB>(): KyselyHandle<DB> {
    const mod = this.modules.kysely;
    if (!mod) throw missing('kysely', '@lakebase-kit/kysely kysely');
    this.#kysely ??= mod.lakebaseKysely<unknown>({ lakebase: this.lakebase });
    return this.#kysely as KyselyHandle<DB>;
  }

  prisma<C extends PrismaAdapter.PrismaClientLike>(
    PrismaClient: PrismaClientClass<C>,
  ): PrismaHandle<C> {
    const mod = this.modules.prisma;
    if (!mod) throw missing('prisma', '@lakebase-kit/prisma @prisma/adapter-pg @prisma/client');
    let handle = this.#prisma.get(PrismaClient);
    if (!handle) {
      handle = mod.lakebasePrisma({ PrismaClient, lakebase: this.lakebase });
      this.#prisma.set(PrismaClient, handle);
    }
    return handle as PrismaHandle<C>;
  }

  /** Destroys the Kysely instances and disconnects the Prisma clients (the pools stay). */
  async close(): Promise<void> {
    const kysely = this.#kysely;
    this.#kysely = undefined;
    const prisma = [...this.#prisma.values()];
    this.#prisma.clear();
    await Promise.allSettled([kysely?.destroy(), ...prisma.map((p) => p.$disconnect())]);
  }
}
