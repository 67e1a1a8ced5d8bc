/**
 * The pool's life as pg users expect it: `end()` lets accepted work finish (pg-pool's own
 * "finish pending queries" promise, kept even for requests waiting in the queue), refuses later
 * work with a typed error, and pg's options mean what they mean in pg.
 */
import { type LocalLakebase, startLocalLakebase } from '@lakebase-kit/local';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ClosedError, createLakebasePool } from '../../src/index.js';
import { captureLogger, localPoolOptions, until } from '../support/sp-support.js';

let lb: LocalLakebase;
const log = captureLogger();
beforeAll(async () => {
  lb = await startLocalLakebase();
});
afterAll(async () => {
  await lb?.stop();
});

describe('pool.end()', () => {
  it('10 queries then end() at once: 10 of 10 succeed (the first token is fetched meanwhile)', async () => {
    const pool = createLakebasePool(localPoolOptions(lb, { logger: log.logger }));
    const queries = Array.from({ length: 10 }, (_, i) => pool.query('select $1::int as i', [i]));
    await pool.end();
    const results = await Promise.allSettled(queries);
    expect(results.map((r) => r.status)).toEqual(Array(10).fill('fulfilled'));
  });

  it('requests waiting in the queue (max 2, 10 queries) are served before the pool ends', async () => {
    const pool = createLakebasePool(localPoolOptions(lb, { max: 2, logger: log.logger }));
    const queries = Array.from({ length: 10 }, (_, i) =>
      pool.query('select $1::int as i, pg_sleep(0.01)', [i]),
    );
    await until(() => pool.waitingCount === 8);
    const ended = pool.end();
    const results = await Promise.all(queries);
    expect(results.map((r) => r.rows[0].i)).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
    await ended;
    expect(pool.totalCount).toBe(0);
  });

  it('work after end() gets a ClosedError; a second end() is an error, as in pg', async () => {
    const pool = createLakebasePool(localPoolOptions(lb, { logger: log.logger }));
    await pool.query('select 1');
    const ended = pool.end();
    const late = await pool.query('select 1').catch((e) => e);
    expect(late).toBeInstanceOf(ClosedError);
    expect(late.message).toBe('Cannot use a pool after calling end on the pool');
    await expect(pool.connect()).rejects.toBeInstanceOf(ClosedError);
    await expect(pool.end()).rejects.toThrow('Called end on pool more than once');
    await ended;
    expect(pool.ending).toBe(true);
    expect(pool.ended).toBe(true);
  });
});

describe("pg's own options", () => {
  it('honours poolSize (the alias of max)', async () => {
    const pool = createLakebasePool(localPoolOptions(lb, { poolSize: 3, logger: log.logger }));
    expect(pool.options.max).toBe(3);
    const clients = await Promise.all([1, 2, 3].map(() => pool.connect()));
    const fourth = pool.connect();
    await until(() => pool.waitingCount === 1);
    expect(pool.totalCount).toBe(3);
    clients[0]!.release();
    (await fourth).release();
    for (const c of clients.slice(1)) c.release();
    await pool.end();
  });

  it('honours the URL parameters of connectionString (application_name, options)', async () => {
    const { host, port, database, user, ...rest } = localPoolOptions(lb, { logger: log.logger });
    const url = `postgresql://${encodeURIComponent(user!)}@${host}:${port}/${database}?application_name=orders-api&options=${encodeURIComponent('-c search_path=lbk_test,public')}`;
    const pool = createLakebasePool({ ...rest, connectionString: url });
    const { rows } = await pool.query(
      "select current_user as me, current_setting('application_name') as app, current_setting('search_path') as path",
    );
    expect(rows[0]).toEqual({
      me: lb.servicePrincipal.clientId,
      app: 'orders-api',
      path: 'lbk_test,public',
    });
    await pool.end();
  });
});
