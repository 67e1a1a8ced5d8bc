/** Pure units: local-or-real detection, ORM parsing, order input validation, error statuses. */
import { AuthenticationError, PoolBudgetError, ValidationError } from '@lakebase-kit/core';
import { describe, expect, it } from 'vitest';
import { BadRequestError, errorStatus } from '../src/http-errors.js';
import { detectMode } from '../src/mode.js';
import { parseNewOrder } from '../src/orders-input.js';
import { parseOrm } from '../src/repos/index.js';

const ENDPOINT = 'projects/p/branches/b/endpoints/e';

describe('detectMode', () => {
  it('uses a real Lakebase only when LAKEBASE_ENDPOINT and a non-local PGHOST are set', () => {
    expect(detectMode({}).local).toBe(true);
    expect(detectMode({ LAKEBASE_ENDPOINT: ENDPOINT }).local).toBe(true);
    expect(detectMode({ PGHOST: 'ep-x.database.cloud.databricks.com' }).local).toBe(true);
    for (const host of ['127.0.0.1', 'localhost', '::1']) {
      expect(detectMode({ LAKEBASE_ENDPOINT: ENDPOINT, PGHOST: host }).local, host).toBe(true);
    }
    const real = detectMode({
      LAKEBASE_ENDPOINT: ENDPOINT,
      PGHOST: 'ep-x.database.azuredatabricks.net',
    });
    expect(real).toEqual({ local: false, reason: expect.stringContaining('PGHOST=ep-x') });
  });
});

describe('parseOrm', () => {
  it('accepts the three ORMs (default drizzle) and names them on a typo', () => {
    expect(parseOrm(undefined)).toBe('drizzle');
    expect(parseOrm('Kysely')).toBe('kysely');
    expect(parseOrm('prisma')).toBe('prisma');
    expect(() => parseOrm('typeorm')).toThrow('use one of drizzle, kysely, prisma');
  });
});

describe('parseNewOrder', () => {
  it('takes an item and a quantity (default 1)', () => {
    expect(parseNewOrder({ item: ' Tea ' })).toEqual({ item: 'Tea', quantity: 1 });
    expect(parseNewOrder({ item: 'Tea', quantity: '4' })).toEqual({ item: 'Tea', quantity: 4 });
  });
  it('refuses anything else with a BadRequestError', () => {
    for (const body of [
      undefined,
      {},
      { item: 3 },
      { item: 'x'.repeat(201) },
      { item: 'x', quantity: -1 },
    ]) {
      expect(() => parseNewOrder(body)).toThrow(BadRequestError);
    }
  });
});

describe('errorStatus', () => {
  it('maps typed errors to their HTTP status', () => {
    expect(errorStatus(new AuthenticationError('no token'))).toBe(401);
    expect(errorStatus(new ValidationError('bad header'))).toBe(400);
    expect(errorStatus(new PoolBudgetError('busy'))).toBe(503);
    expect(errorStatus(new BadRequestError('bad'))).toBe(400);
    expect(errorStatus(Object.assign(new Error('rls'), { code: '42501' }))).toBe(403);
    expect(errorStatus(new Error('boom'))).toBe(500);
    // An ORM's wrapper (Drizzle's DrizzleQueryError) keeps the driver error as its cause.
    const wrapped = new Error('Failed query', { cause: new AuthenticationError('no token') });
    expect(errorStatus(wrapped)).toBe(401);
  });
});
