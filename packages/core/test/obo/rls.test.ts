import { type LocalLakebase, startLocalLakebase } from '@lakebase-kit/local';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Lakebase as LakebaseInstance } from '../../src/index.js';
import { createLakebase } from '../../src/lakebase.js';
import { ScopePool as ScopedPool } from '../../src/obo/scope-pool.js';
import {
  ALICE,
  BOB,
  capturingLogger,
  createNotesTable,
  findSecrets,
  headersFor,
} from '../support/obo-helpers.js';

let lb: LocalLakebase;
let lakebase: LakebaseInstance;
const logger = capturingLogger();

beforeAll(async () => {
  lb = await startLocalLakebase({ users: [ALICE, BOB] });
  lakebase = createLakebase({ env: lb.env, logger });
  await createNotesTable(lb, (text) => lakebase.query(text), [ALICE, BOB]);
  await lakebase.query(
    `insert into notes (owner, body) values ($1, 'alice 1'), ($1, 'alice 2'), ($2, 'bob 1')`,
    [ALICE, BOB],
  );
}, 60_000);

afterAll(async () => {
  await lakebase?.close();
  await lb?.stop();
});

const bodies = (rows: Array<{ body: string }>) => rows.map((r) => r.body).sort();

describe('row-level security through asUser(req)', () => {
  it('scope.query runs as the user and sees only their rows', async () => {
    const alice = lakebase.asUser(headersFor(lb, ALICE));
    const bob = lakebase.asUser({ headers: headersFor(lb, BOB) });
    const [a, b] = await Promise.all([
      alice.query('select body, current_user as who from notes'),
      bob.query('select body, current_user as who from notes'),
    ]);
    expect(bodies(a.rows)).toEqual(['alice 1', 'alice 2']);
    expect(new Set(a.rows.map((r) => r.who))).toEqual(new Set([ALICE]));
    expect(bodies(b.rows)).toEqual(['bob 1']);
    expect(alice.identity).toBe(ALICE);
    expect(alice.isServicePrincipalFallback).toBe(false);
  });

  it('scope.pool is a real pg.Pool and pool.query long after the call still runs as the user', async () => {
    const scope = lakebase.asUser(new Request('http://app/', { headers: headersFor(lb, ALICE) }));
    expect(scope.pool).toBeInstanceOf(pg.Pool);
    expect(scope.pool).toBeInstanceOf(ScopedPool);
    // other requests in between, as other users and as the SP
    await lakebase.asUser(headersFor(lb, BOB)).query('select 1');
    await lakebase.query('select 1');
    await new Promise((resolve) => setTimeout(resolve, 50));
    const later = await scope.pool.query('select body, current_user as who from notes');
    expect(bodies(later.rows)).toEqual(['alice 1', 'alice 2']);
    expect(later.rows.every((r) => r.who === ALICE)).toBe(true);
    // callback style too (pg-pool's query() goes through connect())
    const viaCallback = await new Promise<pg.QueryResult>((resolve, reject) => {
      scope.pool.query(
        'select current_user as who',
        (err: Error | undefined, res: pg.QueryResult) => (err ? reject(err) : resolve(res)),
      );
    });
    expect(viaCallback.rows[0].who).toBe(ALICE);
  });

  it('a pool.connect() transaction runs as the user (promise and callback styles)', async () => {
    const scope = lakebase.asUser(headersFor(lb, BOB));
    const client = await scope.pool.connect();
    try {
      await client.query('begin');
      await client.query(`insert into notes (body) values ('bob 2')`);
      const { rows } = await client.query('select body, owner, current_user as who from notes');
      await client.query('commit');
      expect(bodies(rows)).toEqual(['bob 1', 'bob 2']);
      expect(rows.every((r) => r.owner === BOB && r.who === BOB)).toBe(true);
    } finally {
      client.release();
    }
    const who = await new Promise<string>((resolve, reject) => {
      scope.pool.connect((err, c, done) => {
        if (err || !c) return reject(err);
        c.query('select current_user as who').then(
          (r) => {
            done();
            resolve(r.rows[0].who);
          },
          (e) => {
            done(e);
            reject(e);
          },
        );
      });
    });
    expect(who).toBe(BOB);
  });

  it('the service principal sees every row', async () => {
    const { rows } = await lakebase.query('select body, current_user as who from notes');
    expect(bodies(rows)).toEqual(['alice 1', 'alice 2', 'bob 1', 'bob 2']);
    expect(rows[0].who).toBe(lb.servicePrincipal.clientId);
  });

  it('scope.pool.end() ends only that view; the next asUser gets a working scope', async () => {
    const headers = headersFor(lb, ALICE);
    const scope = lakebase.asUser(headers);
    await scope.query('select 1');
    const sharedBefore = lakebase.stats().users.pools;
    await scope.pool.end();
    await expect(scope.pool.query('select 1')).rejects.toThrow(/after calling end/);
    const again = lakebase.asUser(headers);
    expect(again).not.toBe(scope);
    const { rows } = await again.query('select current_user as who');
    expect(rows[0].who).toBe(ALICE);
    expect(lakebase.stats().users.pools).toBe(sharedBefore);
  });

  it('getPgConfig / getOrmConfig of a scope log in as the user', async () => {
    const scope = lakebase.asUser(headersFor(lb, ALICE));
    const config = scope.getPgConfig();
    expect(config.user).toBe(ALICE);
    expect(typeof config.password).toBe('function');
    const own = new pg.Pool(config);
    try {
      const { rows } = await own.query('select body from notes');
      expect(bodies(rows)).toEqual(['alice 1', 'alice 2']);
    } finally {
      await own.end();
    }
    const orm = scope.getOrmConfig();
    expect(orm.username).toBe(ALICE);
    expect(typeof orm.password).toBe('function');
    expect(lakebase.getPgConfig().user).toBe(lb.servicePrincipal.clientId);
  });

  it('never logs a token', () => {
    const stats = lb.stats();
    expect(stats.credentialCalls[ALICE]).toBeGreaterThan(0);
    const secrets = [lb.userToken(ALICE), lb.mintPgToken(ALICE).token];
    expect(findSecrets(logger.lines, secrets)).toEqual([]);
    expect(logger.lines.join('\n')).not.toMatch(/lbk_/);
  });
});
