/**
 * `RoleQuery`: one statement of a user in `userPools.mode: 'set-role'`, run under the user's
 * role in ONE round trip. It is a `pg.Query` (pg's public `Submittable`, as pg-cursor is) that
 * sends a preamble before its own extended-protocol messages, all before the one `Sync`:
 *
 *   [the hand-off's clear]  SET LOCAL ROLE "<user>"  <the statement>  Sync
 *
 * Statements before a `Sync` run in one implicit transaction, so `SET LOCAL` ends with it: the
 * session is the service principal's again once the answer is in. The preamble comes from
 * `SessionStates.inline()`. Its own `CommandComplete`s are not part of the result; a failure in
 * it is told apart (`failedAt`: which preamble statement) so the caller can name it (a missing
 * role, no SET grant) or destroy the connection (a clear that failed). A named statement runs
 * unnamed here (see the constructor).
 */
import type { EventEmitter } from 'node:events';
import pg from 'pg';
import { copyQueryConfig } from '../../base/query-config.js';

/** The part of pg's `Query` that pg's `Client` drives (the Submittable protocol). */
interface QueryProtocol {
  submit(connection: pg.Connection): Error | null;
  handleCommandComplete(message: unknown, connection: pg.Connection): void;
  handleDataRow(message: unknown): void;
  handleError(error: Error, connection: pg.Connection): void;
}
/** pg's `QueryConfig` with `queryMode` (documented by pg, missing from @types/pg). */
type ExtendedQueryConfig = pg.QueryConfig & { queryMode?: 'extended' };
type QueryClass = new (
  config: string | ExtendedQueryConfig,
  values?: unknown[],
) => QueryProtocol & EventEmitter;
const Query = pg.Query as unknown as QueryClass;

/** One statement of the preamble: named ones are parsed once per connection (`parse`). */
export interface PreambleStatement {
  text: string;
  /** A protocol-level name: Bind to it; Parse it first when `parse`. */
  name?: string;
  parse?: boolean;
  /** Text parameters (the preamble's are ours: role names and flags). */
  values?: string[];
}

export class RoleQuery extends Query {
  readonly #preamble: readonly PreambleStatement[];
  /** Preamble statements whose CommandComplete has not arrived yet. */
  #pending: number;
  /** The index of the preamble statement that failed (the statement itself never ran), if one did. */
  failedAt: number | undefined;

  /** `text` and `values`, or a whole `QueryConfig` (`rowMode`, `types`, ...), after `preamble`. */
  constructor(
    query: string | pg.QueryConfig,
    values: unknown[] | undefined,
    preamble: readonly PreambleStatement[],
  ) {
    // The extended protocol (pg's public `queryMode` option): one statement only. Unnamed,
    // always: pg takes the first ParseComplete of a named query (the preamble's) as the
    // statement's own, and would believe it prepared on this connection when its Parse failed
    // or was never sent; a later use of the name there, by anyone, would fail (26000).
    super(
      typeof query === 'string'
        ? { text: query, values, queryMode: 'extended' }
        : copyQueryConfig(query, {
            name: undefined,
            values: values ?? query.values,
            queryMode: 'extended',
          }),
    );
    this.#preamble = preamble;
    this.#pending = preamble.length;
  }

  override submit(connection: pg.Connection): Error | null {
    // one write for the preamble and the statement (pg's Query corks its own part too)
    connection.stream.cork?.();
    try {
      for (const statement of this.#preamble) {
        const name = statement.name ?? '';
        if (!statement.name || statement.parse) {
          connection.parse({ name, text: statement.text, types: [] }, true);
        }
        connection.bind({ portal: '', statement: name, values: statement.values ?? [] }, true);
        connection.execute({ portal: '' }, true);
      }
      return super.submit(connection);
    } finally {
      connection.stream.uncork?.();
    }
  }

  override handleDataRow(message: unknown): void {
    if (this.#pending > 0) return; // a preamble statement's row (none is described to pg)
    super.handleDataRow(message);
  }

  override handleCommandComplete(message: unknown, connection: pg.Connection): void {
    if (this.#pending > 0) {
      this.#pending--; // the preamble's, not the statement's
      return;
    }
    super.handleCommandComplete(message, connection);
  }

  override handleError(error: Error, connection: pg.Connection): void {
    if (this.#pending > 0) this.failedAt = this.#preamble.length - this.#pending;
    super.handleError(error, connection);
  }
}
