import { describe, expect, it } from 'vitest';
import { PoolerSessionError } from '../../src/index.js';
import { PooledStatements, sessionFeature } from '../../src/pool/pooled-statements.js';

describe('statements that need a session, on the pooler', () => {
  it.each([
    ['LISTEN orders', 'LISTEN'],
    ['PREPARE q AS SELECT 1', 'SQL PREPARE'],
    ['SET search_path TO app', 'a session SET'],
    ['set session statement_timeout = 5', 'a session SET'],
    ['SET ROLE "alice@example.com"', 'a session SET'],
    ['DECLARE c CURSOR WITH HOLD FOR SELECT 1', 'a WITH HOLD cursor'],
    ['create temp table t (v int)', 'a temporary table'],
    ['CREATE GLOBAL TEMPORARY TABLE t (v int)', 'a temporary table'],
    ['select pg_advisory_lock(42)', 'a session advisory lock'],
    ['select pg_catalog.pg_try_advisory_lock_shared(1, 2)', 'a session advisory lock'],
    ['select /* x */ "pg_advisory_lock" /**/ (1)', 'a session advisory lock'],
    ['select 1; listen x', 'LISTEN'],
  ])('%s → %s', (text, feature) => {
    expect(sessionFeature(text)).toBe(feature);
  });

  it.each([
    'select 1',
    'SET LOCAL statement_timeout = 1000',
    'SET TRANSACTION ISOLATION LEVEL SERIALIZABLE',
    'SET CONSTRAINTS ALL DEFERRED',
    'select pg_advisory_xact_lock(42)',
    'DECLARE c CURSOR FOR SELECT 1',
    'create table t (v int)',
    "select 'listen x; set role y'",
    'select $$pg_advisory_lock(1)$$',
    'RESET ALL',
    'begin',
  ])('%s is fine', (text) => {
    expect(sessionFeature(text)).toBeUndefined();
  });

  it('refuses with a typed error that names the feature, the host and the way out', () => {
    const statements = new PooledStatements('ep-1-pooler.example.com');
    const refusal = statements.refusal('LISTEN orders');
    expect(refusal).toBeInstanceOf(PoolerSessionError);
    expect(refusal).toMatchObject({ feature: 'LISTEN', code: 'LAKEBASE_POOLER_SESSION' });
    expect(refusal?.message).toMatch(/ep-1-pooler.example.com.*lakebase.direct/);
    expect(statements.refusal('select 1')).toBeUndefined();
  });
});
