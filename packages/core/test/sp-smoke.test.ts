import { type LocalLakebase, startLocalLakebase } from '@lakebase-kit/local';
import pg from 'pg';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { createLakebasePool } from '../src/index.js';
import { captureLogger, localPoolOptions } from './sp-support.js';

let lb: LocalLakebase;
beforeAll(async () => {
  lb = await startLocalLakebase();
});
afterAll(async () => {
  await lb?.stop();
});

it('logs in as the service principal', async () => {
  const { logger, lines } = captureLogger();
  const pool = createLakebasePool(localPoolOptions(lb, { logger }));
  expect(pool).toBeInstanceOf(pg.Pool);
  const { rows } = await pool.query('select current_user as me');
  expect(rows[0].me).toBe(lb.servicePrincipal.clientId);
  await pool.end();
  console.log(lines);
});
