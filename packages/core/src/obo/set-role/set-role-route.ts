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
import { leaseClient } from '../lease.js';
import type { Route } from '../route.js';
import { RoleQuery } from './role-query.js';
import type { SessionStates } from './session-state.js';

/** True for a `QueryConfig` with a `name` (a statement pg prepares once per connection). */
function namedQuery(text: string | pg.QueryConfig): boolean {
  return typeof text !== 'string' && Boolean(text.name);
}

export class SetRoleRoute implements Route {
  readonly #sp: LakebasePool;
  readonly #sessions: SessionStates;
  readonly #role: string;

  constructor(sp: LakebasePool, sessions: SessionStates, role: string) {
    this.#sp = sp;
    this.#sessions = sessions;
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
      .then((client) => this.#run<R>(client, text, values, true));
  }

  /**
   * Runs the statement on `client` after its preamble; once, if the hand-off check finds
   * leftovers, again after the full clear (the statement had not run).
   */
  #run<R extends pg.QueryResultRow>(
    client: pg.PoolClient,
    text: string | pg.QueryConfig,
    values: unknown[] | undefined,
    mayRetry: boolean,
  ): Promise<pg.QueryResult<R>> {
    const sessions = this.#sessions;
    const role = this.#role;
    return new Promise<pg.QueryResult<R>>((resolve, reject) => {
      const preamble = sessions.inline(client, role);
      const query = new RoleQuery(text, values, preamble.statements);
      query.once('end', (result: pg.QueryResult<R>) => {
        sessions.afterInline(client, role, preamble, undefined);
        client.release();
        resolve(result);
      });
      query.once('error', (error: Error) => {
        const failedAt = query.failedAt ?? preamble.statements.length;
        const outcome = sessions.afterInline(client, role, preamble, failedAt, error);
        if (outcome === 'left-something' && mayRetry) {
          // the last holder left something: clear it all, then run the statement (it had not run)
          sessions.clear(client).then(
            () => resolve(this.#run<R>(client, text, values, false)),
            (failure: unknown) => {
              client.release(true);
              reject(failure);
            },
          );
          return;
        }
        if (outcome !== 'done' || (failedAt < preamble.statements.length && namedQuery(text))) {
          // its state is unknown (or pg took a preamble's ParseComplete for the named statement's)
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
    const client = await this.#sp.connectAs(this.#role);
    const sessions = this.#sessions;
    return leaseClient(client, (destroy) => {
      if (destroy) {
        client.release(destroy);
        return;
      }
      sessions.releaseReset(client).then((reusable) => client.release(reusable ? undefined : true));
    });
  }
}
