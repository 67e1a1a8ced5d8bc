/**
 * `WriteLsn`: the primary's WAL position after this app's last write, for read-your-writes on
 * a read-only endpoint. Every primary connection asks it whether a statement may have written
 * (`mayWrite`, from its first keyword; cached per text) and, after one that may have, records
 * the primary's flushed WAL position (`CURRENT_LSN_SQL`) from the same connection before the caller gets the answer — so
 * a read that starts after a write's answer knows a position at or past that write's commit.
 * Inside a transaction the position is taken again after `COMMIT`. One extra round trip per
 * write; none per read.
 *
 * What counts as a write: every statement but `SELECT` (without a data-modifying `WITH`),
 * `SHOW`, `VALUES`, `TABLE`, `FETCH`, `EXPLAIN` (without `ANALYZE`) and transaction control
 * other than `COMMIT`/`END`. A `SELECT` that writes through a function is not seen: call
 * `lakebase.read.noteWrite()` after it, or read from the primary.
 */
import { LruMap } from '../base/lru-map.js';
import { firstKeyword, sqlTokens } from '../base/sql-lexer.js';

/**
 * The position, as text (`X/Y`); the follow-up statement of a write. The flush position: a
 * committed write (`synchronous_commit` on, the default) is flushed before its answer, so it lies
 * at or before it; and a standby receives only flushed WAL, so it can always catch up to it (the
 * insert position may wait for the WAL writer). With `synchronous_commit = off` a commit may not
 * be flushed yet: read-your-writes then does not hold.
 */
export const CURRENT_LSN_SQL = 'SELECT pg_catalog.pg_current_wal_flush_lsn()::text AS lsn';

const READ_KEYWORDS = new Set([
  'SELECT',
  'SHOW',
  'VALUES',
  'TABLE',
  'FETCH',
  'MOVE',
  'CLOSE',
  'BEGIN',
  'START',
  'SAVEPOINT',
  'RELEASE',
  'ROLLBACK',
  'ABORT',
  'SET',
  'RESET',
  'DECLARE',
  'DISCARD',
  'LISTEN',
  'UNLISTEN',
  'DEALLOCATE',
  '',
]);
const DML = new Set(['insert', 'update', 'delete', 'merge']);
const MAX_VERDICTS = 2000;
const MAX_CACHED_TEXT = 4096;

/** `X/Y` (hex halves) → one number; undefined for anything else. */
export function parseLsn(text: unknown): bigint | undefined {
  if (typeof text !== 'string') return undefined;
  const match = /^([0-9A-Fa-f]{1,8})\/([0-9A-Fa-f]{1,8})$/.exec(text);
  if (!match) return undefined;
  return (BigInt(`0x${match[1]}`) << 32n) | BigInt(`0x${match[2]}`);
}

export function formatLsn(lsn: bigint): string {
  return `${(lsn >> 32n).toString(16).toUpperCase()}/${(lsn & 0xffffffffn).toString(16).toUpperCase()}`;
}

/** True when `text` may change data (see the file header). */
export function mayWrite(text: string): boolean {
  const keyword = firstKeyword(text);
  if (keyword === 'COMMIT' || keyword === 'END') return true;
  if (keyword === 'WITH') return sqlTokens(text).some((t) => t.kind === 'word' && DML.has(t.value));
  if (keyword === 'EXPLAIN') {
    return sqlTokens(text).some((t) => t.kind === 'word' && t.value === 'analyze');
  }
  if (keyword === 'SELECT') {
    // SELECT ... INTO creates a table
    return sqlTokens(text).some((t) => t.kind === 'word' && t.value === 'into');
  }
  return !READ_KEYWORDS.has(keyword);
}

export class WriteLsn {
  readonly #verdicts = new LruMap<string, boolean>(MAX_VERDICTS);
  #latest: bigint | undefined;
  #writes = 0;

  /** The position after the last write recorded (undefined: none yet). */
  get latest(): bigint | undefined {
    return this.#latest;
  }

  /** Writes recorded so far. */
  get writes(): number {
    return this.#writes;
  }

  mayWrite(text: string): boolean {
    let verdict = this.#verdicts.get(text);
    if (verdict === undefined) {
      verdict = mayWrite(text);
      if (text.length <= MAX_CACHED_TEXT) this.#verdicts.set(text, verdict);
    }
    return verdict;
  }

  /** A position read after a write (text as Postgres prints it); keeps the highest. */
  record(lsn: unknown): void {
    const value = parseLsn(lsn);
    if (value === undefined) return;
    this.#writes++;
    if (this.#latest === undefined || value > this.#latest) this.#latest = value;
  }
}
