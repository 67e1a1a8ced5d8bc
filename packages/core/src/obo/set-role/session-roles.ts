/**
 * Shared-pool on-behalf-of (`userPools.mode: 'set-role'`, as PostgREST does it): a verified
 * user's work runs on the service principal's pool, the session switched to the user's role.
 *
 * `SessionRoles` knows, per connection, which role its session runs as and whether a user had
 * it. Every checkout of the SP pool goes through `prepare()`, so no user's session state ever
 * reaches the next checkout: a connection a user had is `RESET ALL` + `RESET ROLE` before the
 * service principal gets it, and `RESET ALL` + `SET ROLE "<next>"` before another user does,
 * in one round trip. Clients handed out through `scope.pool.connect()` are reset at release
 * (`ROLLBACK; RESET ALL; RESET ROLE`). A connection whose state is unknown — a reset or a
 * `SET ROLE` that failed — is destroyed, never reused.
 *
 * `RoleSession` is what one identity's scope runs on: `query()` (one statement in one round
 * trip: a `RoleQuery`, `SET LOCAL ROLE` and the statement in one implicit transaction) and
 * `connect()` (a client whose release resets it).
 */
import pg from 'pg';
import { firstKeyword, SESSION_KEYWORDS } from '../../agent/statement-runner.js';
import { AuthenticationError, ConfigurationError, ValidationError } from '../../base/errors.js';
import type { LakebasePool, SessionTarget } from '../../pool/lakebase-pool.js';
import { RoleQuery } from './role-query.js';

interface SessionState {
  /** The role the session runs as; undefined: the service principal (its login role). */
  role: string | undefined;
  /** True once a user had the connection (their session settings may linger). */
  touched: boolean;
}

/** The two states without a user role (never mutated: shared, no allocation per query). */
const CLEAN: SessionState = Object.freeze({ role: undefined, touched: false });
const TOUCHED: SessionState = Object.freeze({ role: undefined, touched: true });

export class SessionRoles {
  readonly #states = new WeakMap<object, SessionState>();
  readonly #endpoint: string | undefined;
  readonly #missingRoleMessage: (identity: string) => string;

  constructor(options: { endpoint?: string; missingRoleMessage: (identity: string) => string }) {
    this.#endpoint = options.endpoint;
    this.#missingRoleMessage = options.missingRoleMessage;
  }

  /**
   * Makes `client`'s session run as `role` (undefined: the service principal) before it is
   * handed out. Undefined when nothing is to be done (the hot path: no round trip).
   */
  prepare(client: pg.PoolClient, target: SessionTarget | undefined): Promise<void> | undefined {
    const state = this.#states.get(client);
    // the caller's RoleQuery sets the role (and resets what a user left) in its own round trip
    if (target?.inline) return undefined;
    const role = target?.role;
    if (role === undefined) {
      if (!state?.touched) return undefined;
      return client.query('RESET ALL; RESET ROLE').then(() => {
        this.#states.set(client, CLEAN);
      });
    }
    // The same user again: their session, as they left it (like their own pool in login mode).
    if (state?.role === role) return undefined;
    return client.query(`RESET ALL; SET ROLE ${pg.escapeIdentifier(role)}`).then(
      () => {
        this.#states.set(client, { role, touched: true });
      },
      (error: unknown) => {
        throw this.#setRoleError(role, error);
      },
    );
  }

  /**
   * For a `RoleQuery` on `client`: true when it must `RESET ALL` first (a user had the
   * connection). Afterwards the session is the SP's login again (`SET LOCAL` ended), but the
   * statement may have changed session settings: it counts as touched, with no role of its own.
   */
  inline(client: pg.PoolClient): boolean {
    const state = this.#states.get(client);
    if (state !== TOUCHED) this.#states.set(client, TOUCHED);
    return state?.touched === true;
  }

  /** A `SET ROLE` failure as the typed error it means (missing role, no SET grant). */
  setRoleError(role: string, error: unknown): Error {
    return this.#setRoleError(role, error);
  }

  /** After a full reset (a released pool client): the session is the service principal's. */
  markClean(client: pg.PoolClient): void {
    this.#states.set(client, CLEAN);
  }

  #setRoleError(role: string, error: unknown): Error {
    const code = (error as { code?: string } | null)?.code;
    if (code === '22023' || code === '42704') {
      return new AuthenticationError(this.#missingRoleMessage(role), {
        status: 403,
        identity: role,
      });
    }
    if (code === '42501') {
      return new ConfigurationError(
        `userPools.mode 'set-role': the service principal may not SET ROLE to "${role}". A ` +
          'project owner grants it (SET, not INHERIT): ' +
          `GRANT ${pg.escapeIdentifier(role)} TO <service principal> WITH INHERIT FALSE, SET TRUE` +
          (this.#endpoint ? ` (branch ${this.#endpoint.split('/').slice(0, 4).join('/')})` : '') +
          "; or use userPools.mode 'auto' (login for such users)",
        { option: 'userPools.mode' },
      );
    }
    return error instanceof Error ? error : new Error(String(error));
  }
}

/** One identity's work on the service principal's pool, under the identity's role. */
export class RoleSession {
  readonly #sp: LakebasePool;
  readonly #sessions: SessionRoles;
  readonly #role: string;

  constructor(sp: LakebasePool, sessions: SessionRoles, role: string) {
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
    const keyword = firstKeyword(typeof text === 'string' ? text : text.text);
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
          const query = new RoleQuery(text, values, role, sessions.inline(client));
          query.once('end', (result: pg.QueryResult<R>) => {
            client.release();
            resolve(result);
          });
          query.once('error', (error: Error) => {
            // pg-pool destroys a client whose connection broke; a statement error leaves it
            // usable (the implicit transaction ended at the Sync, and the SET LOCAL ROLE with it)
            client.release();
            reject(query.failedInPreamble ? sessions.setRoleError(role, error) : error);
          });
          client.query(query);
        }),
    );
  }

  /** A client whose session runs as the identity until released; release resets it. */
  async connect(): Promise<pg.PoolClient> {
    const client = await this.#sp.connectAs(this.#role);
    return resettingOnRelease(client, this.#sessions);
  }
}

/**
 * `client`, with a `release()` that first ends whatever the user left open and resets the
 * session (`ROLLBACK; RESET ALL; RESET ROLE`); on any failure the connection is destroyed.
 */
function resettingOnRelease(client: pg.PoolClient, sessions: SessionRoles): pg.PoolClient {
  const release = client.release;
  let released = false;
  const resetAndRelease = (destroy?: Error | boolean) => {
    if (released)
      throw new Error('Release called on client which has already been released to the pool.');
    released = true;
    if (destroy) {
      release(destroy);
      return;
    }
    client.query('ROLLBACK; RESET ALL; RESET ROLE').then(
      () => {
        sessions.markClean(client);
        release();
      },
      () => release(true),
    );
  };
  return new Proxy(client, {
    get(target, prop) {
      if (prop === 'release') return resetAndRelease;
      const value = Reflect.get(target, prop, target);
      return typeof value === 'function' ? value.bind(target) : value;
    },
  });
}

/** Whether the service principal may `SET ROLE` to an identity (`auto` mode), remembered. */
export class SetRoleAccess {
  readonly #query: (
    text: string,
    values: unknown[],
  ) => Promise<{ rows: Array<Record<string, unknown>> }>;
  readonly #answers = new Map<
    string,
    { can: Promise<boolean>; until: number; settled?: boolean }
  >();
  readonly #rememberMs: number;
  readonly #max: number;

  constructor(options: {
    query: (text: string, values: unknown[]) => Promise<{ rows: Array<Record<string, unknown>> }>;
    rememberMs?: number;
    max?: number;
  }) {
    this.#query = options.query;
    this.#rememberMs = options.rememberMs ?? 60_000;
    this.#max = options.max ?? 10_000;
  }

  /** The remembered answer, if any (no I/O). */
  known(identity: string, now = Date.now()): Promise<boolean> | undefined {
    const answer = this.#answers.get(identity);
    if (!answer) return undefined;
    if (now >= answer.until) {
      this.#answers.delete(identity);
      return undefined;
    }
    return answer.can;
  }

  /** The remembered answer once it has arrived (no I/O, no promise: the hot path). */
  settled(identity: string, now = Date.now()): boolean | undefined {
    const answer = this.#answers.get(identity);
    if (answer?.settled === undefined || now >= answer.until) return undefined;
    return answer.settled;
  }

  /** `pg_has_role(session_user, identity, 'SET')`, asked once per identity while remembered. */
  canSetRole(identity: string): Promise<boolean> {
    const known = this.known(identity);
    if (known) return known;
    const can = this.#query("select pg_has_role(session_user, $1, 'SET') as can", [identity]).then(
      ({ rows }) => rows[0]?.can === true,
      (error: { code?: string }) => {
        // no such role: login mode says so (403, with the command that creates it); any other
        // failure is not an answer, and is not remembered
        if (error?.code !== '42704') this.#answers.delete(identity);
        return false;
      },
    );
    if (this.#answers.size >= this.#max)
      this.#answers.delete(this.#answers.keys().next().value as string);
    const answer: { can: Promise<boolean>; until: number; settled?: boolean } = {
      can,
      until: Date.now() + this.#rememberMs,
    };
    this.#answers.set(identity, answer);
    can.then((value) => {
      if (this.#answers.get(identity) === answer) answer.settled = value;
    });
    return can;
  }
}
