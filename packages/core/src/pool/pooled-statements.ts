/**
 * What a statement would keep in its session, told from its tokens: on Lakebase's pooled host
 * (PgBouncer, transaction mode) the next transaction may run on another server connection, so
 * such a statement would silently not last (a `SET`, a temp table) or, worse, last on a server
 * that someone else gets next (a session advisory lock, `LISTEN`, a `WITH HOLD` cursor, SQL
 * `PREPARE`). Pooled clients refuse these with a `PoolerSessionError` before sending anything,
 * and run pg's named statements unnamed (PgBouncer 1.18 keeps no prepared statements). The
 * verdict is cached per text (bounded): ORMs send the same texts again and again.
 */
import { PoolerSessionError } from '../base/errors.js';
import { LruMap } from '../base/lru-map.js';
import { type SqlToken, sqlTokens } from '../base/sql-lexer.js';

const SESSION_LOCKS = new Set([
  'pg_advisory_lock',
  'pg_advisory_lock_shared',
  'pg_try_advisory_lock',
  'pg_try_advisory_lock_shared',
]);
/** `SET <word>` forms that last only for the transaction. */
const TRANSACTION_SETS = new Set(['local', 'transaction', 'constraints']);
const MAX_VERDICTS = 2000;
/** Longer texts are lexed each time rather than kept as cache keys. */
const MAX_CACHED_TEXT = 4096;

function word(token: SqlToken | undefined): string | undefined {
  return token?.kind === 'word' ? token.value : undefined;
}

/** The session feature of one statement's tokens, if any. */
function statementFeature(tokens: readonly SqlToken[]): string | undefined {
  const first = word(tokens[0]);
  const second = word(tokens[1]);
  if (first === 'listen') return 'LISTEN';
  if (first === 'prepare') return 'SQL PREPARE';
  if (first === 'set' && !TRANSACTION_SETS.has(second ?? '')) return 'a session SET';
  if (first === 'declare') {
    for (let i = 1; i + 1 < tokens.length; i++) {
      if (word(tokens[i]) === 'for') break;
      if (word(tokens[i]) === 'with' && word(tokens[i + 1]) === 'hold') return 'a WITH HOLD cursor';
    }
  }
  if (first === 'create') {
    for (let i = 1; i < Math.min(tokens.length, 5); i++) {
      const w = word(tokens[i]);
      if (w === 'temp' || w === 'temporary') return 'a temporary table';
      if (w !== 'global' && w !== 'local' && w !== 'or' && w !== 'replace' && w !== 'unlogged')
        break;
    }
  }
  for (let i = 0; i + 1 < tokens.length; i++) {
    const token = tokens[i] as SqlToken;
    if (
      (token.kind === 'word' || token.kind === 'identifier') &&
      SESSION_LOCKS.has(token.value) &&
      tokens[i + 1]?.value === '('
    ) {
      return 'a session advisory lock';
    }
  }
  return undefined;
}

/** The first session feature of a text (any of its statements), if any. */
export function sessionFeature(text: string): string | undefined {
  const tokens = sqlTokens(text);
  let start = 0;
  for (let i = 0; i <= tokens.length; i++) {
    if (i === tokens.length || tokens[i]?.value === ';') {
      const feature = statementFeature(tokens.slice(start, i));
      if (feature) return feature;
      start = i + 1;
    }
  }
  return undefined;
}

export class PooledStatements {
  readonly #verdicts = new LruMap<string, string | null>(MAX_VERDICTS);
  readonly #host: string;

  constructor(host: string) {
    this.#host = host;
  }

  /** The refusal of `text` on the pooler, if it needs a session. */
  refusal(text: string): PoolerSessionError | undefined {
    let verdict = this.#verdicts.get(text);
    if (verdict === undefined) {
      verdict = sessionFeature(text) ?? null;
      if (text.length <= MAX_CACHED_TEXT) this.#verdicts.set(text, verdict);
    }
    if (verdict === null) return undefined;
    return new PoolerSessionError(
      `${verdict} needs a session of its own, and ${this.#host} is Lakebase's pooled host ` +
        '(PgBouncer, transaction mode: the next transaction may run on another server ' +
        'connection). Run it on lakebase.direct (the direct host), or keep it to a transaction ' +
        '(SET LOCAL, pg_advisory_xact_lock).',
      verdict,
    );
  }
}
