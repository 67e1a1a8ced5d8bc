/**
 * `SetRoleRoute`: one identity's work on the service principal's pool, under the identity's
 * role (`userPools.mode: 'set-role'`, as PostgREST does it). `query()` is one statement in one
 * round trip (a `RoleQuery`: the hand-off's clear when needed, `SET LOCAL ROLE`, the statement);
 * `connect()` is a leased client whose session runs as the identity until it is released, and
 * is cleared then. `SessionStates` decides what each hand-off clears.
 */
import type pg from 'pg';
import { ValidationError } from '../../base/errors.js';
import { firstKeyword, SESSION_KEYWORDS } from '../../base/sql-lexer.js';
import type { LakebasePool } from '../../pool/lakebase-pool.js';
import { CURRENT_LSN_SQL, type WriteLsn } from '../../pool/write-lsn.js';
import { leaseClient } from '../lease.js';
import type { Route } from '../route.js';
import { RoleQuery } from './role-query.js';
import type { SessionStates } from './session-state.js';

/** The service principal's pools as the set-role routes use them. */
export interface SetRoleSide {
  /** Where statements run: the SP's pool (on the pooler in pooled mode). */
  sp: LakebasePool;
  sessions: SessionStates;
  /** Pooled mode: where sessions (`connect()`) run instead, the SP's direct pool. */
  direct?: { sp: LakebasePool; sessions: SessionStates };
  /** A primary with a read replica: the WAL position after a write (read-your-writes). */
  writes?: WriteLsn;
}

export class SetRoleRoute implements Route {
  readonly #sp: LakebasePool;
  readonly #sessions: SessionStates;
  readonly #side: SetRoleSide;
  readonly #role: string;

  constructor(side: SetRoleSide, role: string) {
    this.#sp = side.sp;
    this.#sessions = side.sessions;
    this.#side = side;
    this.#role = role;
  }

  /** The shared pool (for a scope's counters). */
  get pool(): LakebasePool {
    return this.#sp;
  }

  /**
   * One statement as the identity, committed on its own; over the extended protocol, so a text
   * with several statements is refused by Postgres. Session and transaction statements are
   * refused (400): use `connect()` for a transaction.
   */
  query<R extends pg.QueryResultRow>(
    text: string | pg.QueryConfig,
    values?: unknown[],
  ): Promise<pg.QueryResult<R>> {
    const keyword = firstKeyword(typeof text === 'string' ? text : (text?.text ?? ''));
    if (SESSION_KEYWORDS.has(keyword)) {
      return Promise.reject(
        new ValidationError(
          `In userPools.mode 'set-role', scope.query() runs one statement on a shared connection; ` +
            `${keyword} would change the session: use scope.pool.connect() for a transaction`,
          { option: 'text' },
        ),
      );
    }
    return this.#sp
      .connectAs(this.#role, { inline: true })
      .then((client) => this.#run<R>(client, text, values, 'first'));
  }

  /**
   * Runs the statement on `client` after its preamble; once, if the hand-off check finds
   * leftovers, again after the full clear (the statement had not run).
   */
  #run<R extends pg.QueryResultRow>(
    client: pg.PoolClient,
    text: string | pg.QueryConfig,
    values: unknown[] | undefined,
    attempt: 'first' | 'cleared' | 'clearing',
  ): Promise<pg.QueryResult<R>> {
    const sessions = this.#sessions;
    const role = this.#role;
    return new Promise<pg.QueryResult<R>>((resolve, reject) => {
      const preamble =
        attempt === 'clearing' ? sessions.clearing(role) : sessions.inline(client, role);
      const query = new RoleQuery(text, values, preamble.statements);
      query.once('end', (result: pg.QueryResult<R>) => {
        sessions.afterInline(client, role, preamble, undefined);
        const writes = this.#side.writes;
        const statement = typeof text === 'string' ? text : text.text;
        if (!writes?.mayWrite(statement)) {
          client.release();
          resolve(result);
          return;
        }
        // the WAL position at or past this write, before the caller has the answer
        client.query<{ lsn: string }>(CURRENT_LSN_SQL).then(
          (lsn) => {
            writes.record(lsn.rows[0]?.lsn);
            client.release();
            resolve(result);
          },
          () => {
            client.release(true);
            resolve(result);
          },
        );
      });
      query.once('error', (error: Error) => {
        const failedAt = query.failedAt ?? preamble.statements.length;
        const outcome = sessions.afterInline(client, role, preamble, failedAt, error);
        if (outcome === 'left-something' && attempt === 'first') {
          if (sessions.pooled) {
            // on the pooler the next round trip may land elsewhere: clear in the same one
            resolve(this.#run<R>(client, text, values, 'clearing'));
            return;
          }
          // the last holder left something: clear it all, then run the statement (it had not run)
          sessions.clear(client).then(
            () => resolve(this.#run<R>(client, text, values, 'cleared')),
            (failure: unknown) => {
              client.release(true);
              reject(failure);
            },
          );
          return;
        }
        if (outcome !== 'done') {
          // its state is unknown
          client.release(true);
        } else {
          client.release();
        }
        reject(failedAt < preamble.statements.length ? sessions.setRoleError(role, error) : error);
      });
      client.query(query as unknown as pg.QueryConfig);
    });
  }

  /** A leased client whose session runs as the identity until released; release clears it. */
  async connect(): Promise<pg.PoolClient> {
    // a session as the user needs a server connection of its own: on the direct host in pooled mode
    const { sp, sessions } = this.#side.direct ?? this.#side;
    const client = await sp.connectAs(this.#role);
    return leaseClient(client, (destroy) => {
      if (destroy) {
        client.release(destroy);
        return;
      }
      sessions.releaseReset(client).then((reusable) => client.release(reusable ? undefined : true));
    });
  }
}
