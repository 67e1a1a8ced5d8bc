import { describe, expect, it } from 'vitest';
import { copyQueryConfig } from '../../src/base/query-config.js';
import { SQL } from '../support/query-configs.js';

describe('copyQueryConfig', () => {
  it('copies a plain config: changes land on the copy, never on the original', () => {
    const config = { name: 'n', text: 'select $1', values: [1] };
    const copy = copyQueryConfig(config, { name: undefined });
    expect(copy).not.toBe(config);
    expect(copy).toEqual({ name: undefined, text: 'select $1', values: [1] });
    (copy as { callback?: unknown }).callback = () => {};
    expect(Object.keys(config)).toEqual(['name', 'text', 'values']);
  });

  it('keeps the prototype of a class config: its text getter still answers', () => {
    const statement = SQL`select ${1}::int as v`.setName('v');
    const copy = copyQueryConfig(statement, { name: undefined, queryMode: 'extended' });
    expect(copy.text).toBe('select $1::int as v');
    expect(copy.values).toEqual([1]);
    expect(copy.name).toBeUndefined();
    expect((copy as unknown as { queryMode: string }).queryMode).toBe('extended');
    expect(statement.name).toBe('v');
    expect(Object.keys(statement).sort()).toEqual(['name', 'strings', 'values']);
  });
});
