/**
 * AppKit's read-only rule, as the agent tool applies it: the official `sql-policy.test.ts`
 * cases (AppKit 0.38.1), and a differential check against AppKit's own `assertReadOnlySql`
 * (not exported by the package; loaded here from its file, for this comparison only) on those
 * and on harder inputs: every input passes both or fails both with the same message.
 */
import { createRequire } from 'node:module';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { beforeAll, describe, expect, it } from 'vitest';
import { ReadOnlySqlViolation } from '../src/index.js';
import { assertReadOnlySql, readOnlyViolation } from '../src/read-only-sql.js';

let official: (sql: string) => void;

beforeAll(async () => {
  const entry = createRequire(import.meta.url).resolve('@databricks/appkit');
  const file = path.join(path.dirname(entry), 'core/agent/tools/sql-policy.js');
  ({ assertReadOnlySql: official } = (await import(pathToFileURL(file).href)) as {
    assertReadOnlySql: (sql: string) => void;
  });
});

const ADMITTED = [
  'SELECT 1',
  'WITH RECURSIVE t(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM t WHERE n < 3) SELECT * FROM t',
  'SHOW TABLES IN main.sales',
  'DESCRIBE EXTENDED main.sales.orders',
  'DESC main.sales.orders',
  'EXPLAIN ANALYZE SELECT 1',
  'SELECT 1; SELECT 2',
  'SELECT 1;;SELECT 2',
  'SELECT $tag$ DROP $tag$ AS harmless',
];
const WRITES = [
  'DROP',
  'UPDATE',
  'DELETE',
  'INSERT',
  'CREATE',
  'ALTER',
  'TRUNCATE',
  'GRANT',
  'REVOKE',
  'CALL',
  'COPY',
  'MERGE',
  'REFRESH',
  'VACUUM',
];
const REJECTED = [
  'SELECT 1; DROP TABLE x',
  '',
  ';;;',
  'random garbage text',
  "SELECT 'unterminated ; DROP TABLE x",
  'SELECT $a$ DROP TABLE x $b$',
];
/** Harder inputs for the differential check. */
const TRICKY = [
  '-- DROP TABLE x\nSELECT 1',
  'SELECT 1 /* ; DROP /* nested ; */ still comment ; */',
  'SELECT 1 /* unterminated',
  "SELECT E'it\\'s ; DROP' AS s",
  "SELECT 'it''s ; DROP' AS s",
  "SELECT 'a\\' ; DROP TABLE x",
  'SELECT "we;ird" FROM t',
  'SELECT "unterminated',
  'SELECT `a;b` FROM t',
  'SELECT `unterminated',
  'SELECT $$ ; DROP $$',
  'SELECT $x$ ; DROP',
  'SELECT $1; DELETE FROM t',
  '(SELECT 1)',
  '  \n select 1',
  'with x as (delete from t returning *) select * from x',
  "namE'x'; DROP TABLE t",
  'SeLeCt 1; dElEtE from t',
  '/**/SELECT 1',
  '/*/ DROP */ SELECT 1',
  'SELECT 1 -- ; DROP',
  '_x',
  'select$a$',
];

/** What `assert` does with `sql`: undefined, or the thrown error's name and message. */
function outcome(assert: (sql: string) => void, sql: string) {
  try {
    assert(sql);
    return undefined;
  } catch (error) {
    return { name: (error as Error).name, message: (error as Error).message };
  }
}

describe("AppKit's read-only rule", () => {
  it.each(ADMITTED)('admits %j', (sql) => {
    expect(readOnlyViolation(sql)).toBeUndefined();
  });

  it.each(WRITES)('rejects %s, naming it', (keyword) => {
    expect(readOnlyViolation(`${keyword} something`)).toContain(keyword);
  });

  it.each(REJECTED)('rejects %j', (sql) => {
    expect(readOnlyViolation(sql)).toBeDefined();
  });

  it('throws ReadOnlySqlViolation with AppKit’s message', () => {
    expect(() => assertReadOnlySql('DROP TABLE x')).toThrow(ReadOnlySqlViolation);
    expect(() => assertReadOnlySql('DROP TABLE x')).toThrow(/SQL read-only policy violation/);
    expect(() => assertReadOnlySql('DROP TABLE x')).toThrow(/DROP/);
    const error = outcome(assertReadOnlySql, 'DROP TABLE x');
    expect(error).toEqual({
      name: 'ReadOnlySqlViolation',
      message:
        "SQL read-only policy violation: statement starts with 'DROP'; only SELECT, WITH, SHOW, EXPLAIN, DESCRIBE, DESC are allowed in read-only mode",
    });
  });

  it.each([...ADMITTED, ...WRITES.map((keyword) => `${keyword} x`), ...REJECTED, ...TRICKY])(
    'decides %j exactly as AppKit does',
    (sql) => {
      expect(outcome(assertReadOnlySql, sql)).toEqual(outcome(official, sql));
    },
  );
});
