/**
 * `@lakebase-kit/core/adapter` — the building blocks of the ORM adapters (`@lakebase-kit/drizzle`,
 * `kysely`, `prisma`, `appkit`): bind to a shared or owned `Lakebase`
 * (`resolveAdapterLakebase`), keep one ORM client per user scope (`ScopedClients`), and tell a
 * scope from a request (`isUserScope`).
 */
import { ConfigurationError } from './base/errors.js';
import type { LakebaseConfig } from './config/lakebase-options.js';
import { createLakebase } from './lakebase.js';
import type { Lakebase } from './lakebase-types.js';
import type { UserScope } from './obo/types.js';

/** Keys that may be given next to a shared `lakebase` (they configure the adapter itself). */
const ALLOWED_WITH_SHARED = new Set(['logger']);

/**
 * The `Lakebase` an adapter binds to: the shared one (never closed by the adapter), or a new
 * one made from `config` (owned: the adapter closes it). Connection options next to a shared
 * `lakebase` are a `ConfigurationError`: they would be silently ignored otherwise.
 */
export function resolveAdapterLakebase(
  lakebase: Lakebase | undefined,
  config: Record<string, unknown>,
): { lakebase: Lakebase; owned: boolean } {
  if (!lakebase) return { lakebase: createLakebase(config as LakebaseConfig), owned: true };
  const ignored = Object.keys(config).filter(
    (key) => config[key] !== undefined && !ALLOWED_WITH_SHARED.has(key),
  );
  if (ignored.length > 0) {
    throw new ConfigurationError(
      `Pass either a shared \`lakebase\` or connection options, not both (got ${ignored
        .map((k) => `\`${k}\``)
        .join(', ')} next to \`lakebase\`; configure them on createLakebase() instead)`,
      { option: 'lakebase' },
    );
  }
  return { lakebase, owned: false };
}

/**
 * One client per `UserScope` object — never per identity string, so an unverified token can
 * never reuse the client of a verified scope. The entry goes when the core forgets the scope
 * (`scope.onClose`), and `onDrop` (if given) disposes the client.
 */
export class ScopedClients<T extends object> {
  readonly #entries = new WeakMap<UserScope, { client: T; unsubscribe: () => void }>();

  readonly #create: (scope: UserScope) => T;
  readonly #onDrop: ((client: T) => void) | undefined;

  constructor(create: (scope: UserScope) => T, onDrop?: (client: T) => void) {
    this.#create = create;
    this.#onDrop = onDrop;
  }

  get(scope: UserScope): T {
    const cached = this.#entries.get(scope);
    if (cached) return cached.client;
    const client = this.#create(scope);
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
    this.#onDrop?.(client);
  }
}

/** True for a `UserScope` (what `lakebase.asUser(req)` returns) rather than a request. */
export function isUserScope(value: unknown): value is UserScope {
  const scope = value as Partial<UserScope> | null;
  return (
    typeof scope === 'object' &&
    scope !== null &&
    typeof scope.identity === 'string' &&
    typeof scope.isServicePrincipalFallback === 'boolean' &&
    typeof scope.onClose === 'function' &&
    typeof scope.query === 'function'
  );
}
