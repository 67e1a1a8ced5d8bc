/**
 * Runs one statement that someone else wrote (an LLM agent's SQL) as the scope's identity, with
 * Postgres enforcing what text matching cannot: exactly one statement (the extended query
 * protocol refuses several), inside a transaction (READ ONLY and always rolled back, in
 * read-only mode) with a `statement_timeout`, reading at most `maxRows` rows through a cursor,
 * and answering JSON-safe rows. Statements that would change the session itself (`SET ROLE`,
 * `SET SESSION AUTHORIZATION`, transaction control, ...) and functions with side effects that a
 * rollback does not undo (`pg_terminate_backend`, `set_config`, `dblink`, session advisory
 * locks, ...) and functions that run SQL given as text (`query_to_xml`, `ts_stat`, ...: the
 * text could hide anything) are refused before anything is sent. The connection a statement
 * ran on is closed afterwards, never reused: whatever it might have left in the session (a
 * setting, a session advisory lock) dies with it. An abort cancels the statement on the server
 * (`pg_cancel_backend`, from another connection of the same identity) and closes its
 * connection. The scope runs these statements on a connection logged in as the identity in
 * every `userPools.mode`: under `SET ROLE`, SQL written by someone else could reset the role.
 */
import type pg from 'pg';
import Cursor from 'pg-cursor';
import { ClosedError, ValidationError } from '../base/errors.js';
import { firstKeyword } from '../base/sql-lexer.js';
import { type JsonValue, jsonSafe } from './json-safe.js';
import { refusal } from './refusal.js';

export type { JsonValue };
export { refusal };

export interface StatementOptions {
  /** `statement_timeout` of the statement, in ms (default 10000). */
  timeoutMs?: number;
  /** Rows returned at most (default 1000); `truncated` says when there were more. */
  maxRows?: number;
  /**
   * Bytes of answer (the rows as JSON) at most (default 4 MiB); rows are read in small batches
   * and reading stops once the answer would grow past it (`truncated`, `truncatedBy: 'maxBytes'`).
   */
  maxBytes?: number;
  /** Aborts the statement (its connection is closed). */
  signal?: AbortSignal;
}

export interface StatementResult {
  /** The rows, JSON-safe: bigints, dates and bytes as strings. */
  rows: Array<Record<string, JsonValue>>;
  fields: Array<{ name: string; dataTypeID: number }>;
  /** The command tag's row count (rows affected, or rows read before the cut). */
  rowCount: number | null;
  /** `SELECT`, `INSERT`, ... */
  command: string;
  /** True when the statement produced more rows than were returned (a cap was reached). */
  truncated: boolean;
  /** Which cap cut the answer, when `truncated`. */
  truncatedBy?: 'maxRows' | 'maxBytes';
}

export const STATEMENT_DEFAULTS = Object.freeze({
  timeoutMs: 10_000,
  maxRows: 1000,
  maxBytes: 4 * 1024 * 1024,
});

/** Rows asked for in the first read (later reads size themselves to the bytes left). */
const FIRST_BATCH = 16;
const MAX_BATCH = 500;

function positiveInteger(name: string, value: number | undefined, fallback: number): number {
  if (value === undefined) return fallback;
  if (!Number.isInteger(value) || value < 1) {
    throw new ValidationError(`Invalid option "${name}": expected a positive integer`, {
      option: name,
    });
  }
  return value;
}

/** Cancels what backend `pid` runs, from another connection of the same identity; best effort. */
function cancelBackend(checkout: () => Promise<pg.PoolClient>, pid: number): void {
  checkout().then(
    (other) =>
      other.query('select pg_cancel_backend($1)', [pid]).then(
        () => other.release(),
        () => other.release(true),
      ),
    () => undefined, // no connection to cancel from: statement_timeout still ends it
  );
}

interface ReadRows {
  rows: Array<Record<string, JsonValue>>;
  result: pg.QueryResult | undefined;
  truncatedBy: 'maxRows' | 'maxBytes' | undefined;
}

/**
 * Reads a cursor's rows as JSON-safe values, in batches sized to the bytes left, until it is
 * done or a cap is reached: at most `maxRows` rows, and at most `maxBytes` of JSON. At most one
 * batch is held beyond the cap, and the first batch is small, so a statement of huge rows is
 * stopped after a few of them.
 */
async function readCapped(
  cursor: Cursor<Record<string, unknown>>,
  maxRows: number,
  maxBytes: number,
): Promise<ReadRows> {
  const rows: Array<Record<string, JsonValue>> = [];
  let bytes = 2; // the brackets of the JSON array
  let result: pg.QueryResult | undefined;
  let batch = Math.min(FIRST_BATCH, maxRows + 1);
  for (;;) {
    // the callback form of read() also hands over the result (fields, command, rowCount)
    const got = await new Promise<Array<Record<string, unknown>>>((resolve, reject) => {
      cursor.read(batch, (error, read, last) => {
        if (error) return reject(error);
        result = last as pg.QueryResult | undefined;
        resolve(read);
      });
    });
    for (const row of got) {
      if (rows.length === maxRows) return { rows, result, truncatedBy: 'maxRows' };
      const safe = jsonSafe(row) as Record<string, JsonValue>;
      const size = Buffer.byteLength(JSON.stringify(safe)) + 1;
      if (bytes + size > maxBytes) return { rows, result, truncatedBy: 'maxBytes' };
      bytes += size;
      rows.push(safe);
    }
    if (got.length < batch) return { rows, result, truncatedBy: undefined };
    const average = (bytes - 2) / Math.max(1, rows.length);
    const fitting = Math.floor((maxBytes - bytes) / Math.max(1, average));
    batch = Math.max(1, Math.min(MAX_BATCH, maxRows + 1 - rows.length, fitting + 1));
  }
}

/**
 * Runs `text` once on a client checked out by `checkout` (a connection logged in as the
 * identity), as described in the file header; the client is closed afterwards.
 * @throws ValidationError (400) when the statement is refused; pg's errors as they are.
 */
export async function runStatement(
  checkout: () => Promise<pg.PoolClient>,
  text: string,
  values: unknown[] | undefined,
  options: StatementOptions & { readOnly: boolean },
): Promise<StatementResult> {
  const refused = refusal(text, values, options.readOnly);
  if (refused) throw refused;
  const timeoutMs = positiveInteger('timeoutMs', options.timeoutMs, STATEMENT_DEFAULTS.timeoutMs);
  const maxRows = positiveInteger('maxRows', options.maxRows, STATEMENT_DEFAULTS.maxRows);
  const maxBytes = positiveInteger('maxBytes', options.maxBytes, STATEMENT_DEFAULTS.maxBytes);
  const { signal } = options;
  if (signal?.aborted) throw new ClosedError('The statement was aborted before it started');

  const client = await checkout();
  if (signal?.aborted) {
    client.release();
    throw new ClosedError('The statement was aborted before it started');
  }
  let broken = false;
  let backendPid: number | undefined;
  const onAbort = () => {
    broken = true;
    // Postgres would run the statement on (to statement_timeout) after its socket closed
    if (backendPid !== undefined) cancelBackend(checkout, backendPid);
    // pg ends a connection with an active query by destroying its socket
    client.end().catch(() => {});
  };
  signal?.addEventListener('abort', onAbort, { once: true });
  let inTransaction = false;
  try {
    await client.query(options.readOnly ? 'BEGIN TRANSACTION READ ONLY' : 'BEGIN');
    inTransaction = true;
    // SET LOCAL statement_timeout, and the backend to cancel on an abort, in one round trip
    const session = await client.query<{ pid: number }>(
      "select pg_backend_pid() as pid, set_config('statement_timeout', $1, true)",
      [String(timeoutMs)],
    );
    backendPid = session.rows[0]?.pid;
    const cursor = client.query(new Cursor<Record<string, unknown>>(text, values ?? []));
    let read: ReadRows;
    try {
      read = await readCapped(cursor, maxRows, maxBytes);
    } finally {
      // (a cursor on a connection we are destroying never answers its close)
      if (!broken) {
        await cursor.close().catch(() => {
          broken = true;
        });
      }
    }
    const { rows, result, truncatedBy } = read;
    if (options.readOnly) await client.query('ROLLBACK');
    else await client.query('COMMIT');
    inTransaction = false;
    if (signal?.aborted) throw new ClosedError('The statement was aborted');
    return {
      rows,
      fields: (result?.fields ?? []).map((f) => ({ name: f.name, dataTypeID: f.dataTypeID })),
      // a SELECT read in batches tags each batch with its own count; DML tags its total
      rowCount: truncatedBy
        ? null
        : result?.command === 'SELECT' || result?.rowCount == null
          ? rows.length
          : result.rowCount,
      command: result?.command ?? firstKeyword(text),
      truncated: truncatedBy !== undefined,
      ...(truncatedBy ? { truncatedBy } : {}),
    };
  } catch (error) {
    if (inTransaction && !broken) {
      await client.query('ROLLBACK').catch(() => {
        broken = true;
      });
    }
    if (signal?.aborted) throw new ClosedError('The statement was aborted');
    throw error;
  } finally {
    signal?.removeEventListener('abort', onAbort);
    // never reused: nothing the statement may have left in its session reaches later work
    client.release(true);
  }
}
