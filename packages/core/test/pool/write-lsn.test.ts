import { describe, expect, it } from 'vitest';
import { formatLsn, mayWrite, parseLsn, WriteLsn } from '../../src/pool/write-lsn.js';

describe('WAL positions after writes', () => {
  it('parses and orders positions as Postgres prints them', () => {
    expect(parseLsn('0/16B3748')).toBe(0x16b3748n);
    expect(parseLsn('1/0')).toBe(1n << 32n);
    expect(parseLsn('1/0')! > parseLsn('0/FFFFFFFF')!).toBe(true);
    expect(formatLsn(parseLsn('A/1B')!)).toBe('A/1B');
    for (const bad of ['', '0/', '/1', 'x/1', '0/1/2', null, 7])
      expect(parseLsn(bad)).toBeUndefined();
  });

  it.each([
    ['insert into t values (1)', true],
    ['UPDATE t SET v = 1', true],
    ['with x as (delete from t returning *) select * from x', true],
    ['create table t (v int)', true],
    ['commit', true],
    ['END', true],
    ['select * into t2 from t', true],
    ['explain analyze insert into t values (1)', true],
    ['select * from t', false],
    ['with x as (select 1) select * from x', false],
    ['show search_path', false],
    ['begin', false],
    ['rollback', false],
    ['explain select 1', false],
    ["select 'insert into t'", false],
  ])('%s → %s', (text, write) => {
    expect(mayWrite(text)).toBe(write);
  });

  it('keeps the highest position recorded, and ignores what is not one', () => {
    const writes = new WriteLsn();
    expect(writes.latest).toBeUndefined();
    writes.record('0/200');
    writes.record('0/100');
    writes.record(undefined);
    expect(writes.latest).toBe(0x200n);
    expect(writes.writes).toBe(2);
  });
});
