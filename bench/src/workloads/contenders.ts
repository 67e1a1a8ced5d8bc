/**
 * The three ways to get a service-principal `pg.Pool` on Lakebase, all configured from the
 * environment the orchestrator hands the child (the local Lakebase's `env`).
 */

import { readFileSync } from 'node:fs';
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
        ssl: rawSsl(env),
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

/** What an app would hand raw `pg` for the same TLS the other two negotiate (verify-full). */
function rawSsl(env: NodeJS.ProcessEnv): pg.PoolConfig['ssl'] {
  if (env.PGSSLMODE === 'disable') return false;
  return env.PGSSLROOTCERT ? { ca: readFileSync(env.PGSSLROOTCERT, 'utf8') } : true;
}
