/**
 * Token rollover under continuous load. Choice (kept under 30 s of wall time): 5-second tokens
 * (the lifetime) and 15 seconds of queries, with every query on a NEW connection
 * (`maxUses: 1`), so each query is a login with whatever token the cache holds — about six
 * token rollovers (refresh at half-life, 2.5 s). The
 * credential API is also slowed to 300 ms per call after warm-up: a connect that waited on it
 * would show up as a cache miss, which we count.
 */
import { type LocalLakebase, startLocalLakebase } from '@lakebase-kit/local';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { captureLogger, recordedSpPool, renderError, sleep } from './sp-support.js';

let lb: LocalLakebase;
beforeAll(async () => {
  lb = await startLocalLakebase({ tokenTtlSeconds: 5 });
});
afterAll(async () => {
  await lb?.stop();
});

it('5 s tokens, 15 s of continuous queries: 0 failures, no connect waits on the credential API', async () => {
  const log = captureLogger();
  const { pool, tokens, source } = recordedSpPool(lb, log.logger, { maxUses: 1, max: 4 });

  await pool.query('select 1'); // warm-up: the only miss
  expect(tokens.stats()).toMatchObject({ misses: 1, refreshes: 1 });
  lb.resetStats();
  lb.faults.credentialLatency(300);

  const errors: unknown[] = [];
  let ok = 0;
  const end = Date.now() + 15_000;
  await Promise.all(
    Array.from({ length: 4 }, async () => {
      while (Date.now() < end) {
        try {
          const { rows } = await pool.query('select current_user as me');
          if (rows[0].me === lb.servicePrincipal.clientId) ok++;
        } catch (error) {
          errors.push(error);
        }
        await sleep(10);
      }
    }),
  );
  lb.faults.credentialLatency(0);
  await pool.end();
  tokens.close();

  const stats = lb.stats();
  expect(errors.map((e) => renderError(e))).toEqual([]);
  expect(ok).toBeGreaterThan(100);
  expect(stats.connections[lb.servicePrincipal.clientId]?.total).toBeGreaterThan(100);
  expect(stats.authFailures).toBe(0);
  // Several rollovers happened, all in the background…
  expect(stats.credentialCallsTotal).toBeGreaterThanOrEqual(4);
  expect(tokens.stats().refreshes).toBeGreaterThanOrEqual(5);
  // …and not one connect waited on the API: the warm-up was the only cache miss.
  expect(tokens.stats().misses).toBe(1);
  expect(tokens.stats().failures).toBe(0);
  expect(new Set(source.tokens).size).toBe(source.tokens.length);
  for (const line of log.lines) for (const t of source.tokens) expect(line).not.toContain(t);
});
