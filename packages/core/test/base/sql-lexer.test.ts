/** The one SQL lexer: keywords and called functions by token, whatever the spelling. */
import { describe, expect, it } from 'vitest';
import { calledFunctions, firstKeyword, sqlTokens } from '../../src/base/sql-lexer.js';

describe('firstKeyword', () => {
  it.each([
    ['select 1', 'SELECT'],
    ['  \n\tSeLeCt 1', 'SELECT'],
    ['-- a comment\nbegin', 'BEGIN'],
    ['/* outer /* nested */ still comment */ reset role', 'RESET'],
    ['/**/set role none', 'SET'],
    ["E'select' ", ''],
    ['U&"select"', ''],
    ['(select 1)', ''],
    ['', ''],
    ['/* never closed', ''],
    ['with x as (select 1) select * from x', 'WITH'],
  ])('%j → %j', (text, keyword) => {
    expect(firstKeyword(text)).toBe(keyword);
  });
});

describe('calledFunctions', () => {
  it.each([
    ['select pg_advisory_lock(42)', 'pg_advisory_lock'],
    ['select pg_advisory_lock/**/(42)', 'pg_advisory_lock'],
    ['select pg_advisory_lock -- x\n (42)', 'pg_advisory_lock'],
    ['select PG_ADVISORY_LOCK(42)', 'pg_advisory_lock'],
    ['select pg_catalog.pg_notify($1, $2)', 'pg_notify'],
    ['select "pg_notify"(1, 2)', 'pg_notify'],
    ['select u&"pg\\005fnotify"(1, 2)', 'pg_notify'],
    ['select U&"pg\\+00005fnotify"(1, 2)', 'pg_notify'],
    ['select U&"pg!005fnotify" UESCAPE \'!\' (1, 2)', 'pg_notify'],
    ["select * from pg_catalog . set_config ('role', 'none', false)", 'set_config'],
    ['select "set""config"(1)', 'set"config'],
  ])('%j calls %j', (text, name) => {
    expect(calledFunctions(text)).toContain(name);
  });

  it.each([
    ["select 'pg_notify(1)'", 'pg_notify'],
    ['select $$ pg_notify(1) $$', 'pg_notify'],
    ['select $tag$ pg_notify(1) $tag$', 'pg_notify'],
    ['select 1 /* pg_notify(1) */', 'pg_notify'],
    ["select E'\\' pg_notify(1) '", 'pg_notify'],
    ['select "pg_notify" from t', 'pg_notify'],
  ])('%j does not call %j (it is text, a comment or a column)', (text, name) => {
    expect(calledFunctions(text)).not.toContain(name);
  });

  it('parameters, casts and operators are their own tokens', () => {
    expect(sqlTokens("select $1::int + 2 <> 'a'").map((t) => [t.kind, t.value])).toEqual([
      ['word', 'select'],
      ['parameter', '$1'],
      ['punctuation', '::'],
      ['word', 'int'],
      ['operator', '+'],
      ['number', '2'],
      ['operator', '<>'],
      ['string', 'a'],
    ]);
  });
});
