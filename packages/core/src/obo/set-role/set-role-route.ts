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
    const sessions = this.#sessions;
    const role = this.#role;
    return this.#sp.connectAs(role, { inline: true }).then(
      (client) =>
        new Promise<pg.QueryResult<R>>((resolve, reject) => {
          const preamble = sessions.inline(client, role);
          const query = new RoleQuery(text, values, preamble.statements);
          query.once('end', (result: pg.QueryResult<R>) => {
            sessions.afterInline(client, role, true);
            client.release();
            resolve(result);
          });
          query.once('error', (error: Error) => {
            const failedAt = query.failedAt;
            if (failedAt !== undefined && failedAt < preamble.clearing) {
              client.release(true); // the clear itself failed: its state is unknown
              reject(error);
              return;
            }
            // the implicit transaction ended at the Sync (SET LOCAL ROLE with it); what the clear
            // did inside it was rolled back, so the next holder gets a full clear
            sessions.afterInline(client, role, false);
            client.release();
            reject(failedAt !== undefined ? sessions.setRoleError(role, error) : error);
          });
          client.query(query);
        }),
    );
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
