/**
 * The three ways to get a service-principal `pg.Pool` on Lakebase, all configured from the
 * environment the orchestrator hands the child (the local Lakebase's `env`).
 */
import { createLakebasePool as createOfficialPool } from '@databricks/lakebase';
import { createLakebasePool as createOurPool } from '@lakebase-kit/core';
import pg from 'pg';
import type { P1Contender } from '../protocol.js';

export interface PoolOptions {
  max: number;
  /** Only for `raw`: the Postgres password (a minted token). */
  password?: string;
}

export function createPool(contender: P1Contender, options: PoolOptions): pg.Pool {
  const env = process.env;
  switch (contender) {
    case 'raw':
      if (!options.password) throw new Error('raw pg.Pool needs a minted token');
      return new pg.Pool({
        host: env.PGHOST,
        port: Number(env.PGPORT),
        database: env.PGDATABASE,
        user: env.PGUSER,
        password: options.password,
        ssl: false,
        max: options.max,
      });
    case 'official':
      return createOfficialPool({ max: options.max });
    case 'ours':
      // telemetry is on by default; the child registered an OTel SDK before this
      return createOurPool({ max: options.max });
    case 'oursNoTelemetry':
      return createOurPool({ max: options.max, telemetry: false });
  }
}
