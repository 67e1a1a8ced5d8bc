import type { Lakebase, LakebaseConfig, RequestLike } from '@lakebase-kit/core';
import { resolveAdapterLakebase, ScopedClients } from '@lakebase-kit/core/adapter';
import type pg from 'pg';

interface MyOrm {
  pool: pg.Pool; // stands in for your ORM's client
}

export function myOrmAdapter(options: LakebaseConfig & { lakebase?: Lakebase } = {}) {
  const { lakebase: shared, ...connection } = options;
  // a shared Lakebase (never closed here), or one made from the flat options (owned: closed here)
  const { lakebase, owned } = resolveAdapterLakebase(shared, connection);
  // one ORM client per UserScope object (never per identity string), dropped when core forgets it
  const clients = new ScopedClients<MyOrm>((scope) => ({ pool: scope.pool }));
  return {
    orm: { pool: lakebase.pool } as MyOrm, // the service principal's
    asUser: (req: RequestLike) => clients.get(lakebase.asUser(req)),
    close: () => (owned ? lakebase.close() : Promise.resolve()),
  };
}
