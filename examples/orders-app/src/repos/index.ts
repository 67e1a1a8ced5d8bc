/** `ORM=drizzle|kysely|prisma` → its `OrdersRepo`, loaded on demand. */
import type { Lakebase } from '@lakebase-kit/core';
import { ORMS, type OrdersRepo, type OrmName } from './types.js';

export function parseOrm(value: string | undefined): OrmName {
  const orm = (value ?? 'drizzle').trim().toLowerCase();
  if (!(ORMS as readonly string[]).includes(orm)) {
    throw new Error(`Unknown ORM "${value}": use one of ${ORMS.join(', ')} (env ORM or --orm)`);
  }
  return orm as OrmName;
}

export async function createRepo(orm: OrmName, lakebase: Lakebase): Promise<OrdersRepo> {
  switch (orm) {
    case 'drizzle':
      return (await import('./drizzle.js')).drizzleRepo(lakebase);
    case 'kysely':
      return (await import('./kysely.js')).kyselyRepo(lakebase);
    case 'prisma': {
      // The generated client is not committed: generate it now if needed (about 3 s).
      (await import('../prisma-generate.js')).ensurePrismaClient();
      return (await import('./prisma.js')).prismaRepo(lakebase);
    }
  }
}
