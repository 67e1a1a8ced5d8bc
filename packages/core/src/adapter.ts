/**
 * `@lakebase-kit/core/adapter` — the building blocks of the ORM adapters (`@lakebase-kit/drizzle`,
 * `kysely`, `prisma`, `appkit`): bind to a shared or owned `Lakebase`, and keep one ORM client
 * per user scope.
 */
export { isUserScope, resolveAdapterLakebase, ScopedClients } from './adapter-support.js';
// Tools that need the resolved settings themselves (the CLI's `env`): options + env → config.
export { type ResolvedConfig, resolveConfig } from './config/resolve-config.js';
