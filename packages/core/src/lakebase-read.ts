/** `lakebase.read`: the service principal on the read-only endpoint, or the primary without one. */
import type pg from 'pg';
import type { ReadSide } from './lakebase-pools.js';
import type { LakebaseRead } from './lakebase-types.js';
import type { LakebasePool } from './pool/lakebase-pool.js';
import { CURRENT_LSN_SQL, type WriteLsn } from './pool/write-lsn.js';

export class ReadFacade implements LakebaseRead {
  readonly pool: pg.Pool;
  readonly replica: boolean;
  readonly #primary: LakebasePool;
  readonly #writes: WriteLsn | undefined;

  constructor(primary: LakebasePool, read: ReadSide | undefined) {
    this.#primary = primary;
    this.pool = read?.pool ?? primary;
    this.replica = read !== undefined;
    this.#writes = read?.writes;
  }

  // biome-ignore lint/suspicious/noExplicitAny: the default row type of pg, as in types.ts
  query<R extends pg.QueryResultRow = any>(
    text: string | pg.QueryConfig,
    values?: unknown[],
  ): Promise<pg.QueryResult<R>> {
    return this.pool.query<R>(text as string, values);
  }

  async noteWrite(): Promise<void> {
    const writes = this.#writes;
    if (!writes) return;
    const { rows } = await this.#primary.query<{ lsn: string }>(CURRENT_LSN_SQL);
    writes.record(rows[0]?.lsn);
  }
}
