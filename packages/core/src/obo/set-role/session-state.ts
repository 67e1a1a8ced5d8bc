/**
 * `SessionStates`: the one owner of what a connection of the service principal's pool carries
 * between checkouts in `userPools.mode: 'set-role'`: who held it last, and what a hand-off to
 * someone else must clear. Every checkout of the SP pool asks it (`prepare`), set-role queries
 * ask it for their preamble (`inline`) and report how they ended (`afterInline`), and released
 * user clients are reset by it (`releaseReset`).
 *
 * A hand-off — the connection going from one holder (a user, or the service principal) to
 * another — must leave nothing of the last holder's session: not the open transaction, the
 * role, settings, cursors (`WITH HOLD` too), temp tables, `LISTEN`, session advisory locks, nor
 * statements made with SQL `PREPARE` (pg's own protocol-level named statements are kept, so its
 * statement cache stays right). It costs one round trip, its own or the query's:
 *
 * - the common case is cheap: `RESET ALL`, and one statement (prepared once per connection,
 *   so planned once) that sets the next holder's role, releases advisory locks, and checks
 *   that no cursor, SQL-prepared statement, `LISTEN` or temp relation is left;
 * - when the check finds one (a division by zero aborts the round trip before the next
 *   holder's statement runs), the full clear runs in a second round trip and the work is done
 *   again on the now clean connection.
 *
 * The same holder again keeps their session, as their own pool would in login mode. A
 * connection whose state cannot be known (a clear that failed) is destroyed, never reused.
 */
import pg from 'pg';
import { branchOrPlaceholder } from '../../base/endpoint-path.js';
import { AuthenticationError, ConfigurationError } from '../../base/errors.js';
import type { SessionTarget } from '../../pool/lakebase-pool.js';
import { type PreambleStatement, RoleQuery } from './role-query.js';

/** The service principal as a holder (its login role, no `SET ROLE`). */
const SERVICE_PRINCIPAL = Symbol('service principal');
/** A holder whose leftovers are unknown (a set-role query failed): checked before anyone. */
const UNKNOWN = Symbol('unknown');
type Holder = string | typeof SERVICE_PRINCIPAL | typeof UNKNOWN;

/** True when nothing but settings and advisory locks is left in the session. */
const NOTHING_LEFT =
  "NOT EXISTS (SELECT FROM pg_catalog.pg_cursors WHERE name <> '')" +
  ' AND NOT EXISTS (SELECT FROM pg_catalog.pg_prepared_statements WHERE from_sql)' +
  ' AND NOT EXISTS (SELECT FROM pg_catalog.pg_listening_channels())' +
  ' AND (pg_catalog.pg_my_temp_schema() = 0 OR NOT EXISTS (SELECT FROM pg_catalog.pg_class' +
  ' WHERE relnamespace = pg_catalog.pg_my_temp_schema()))';

/**
 * The hand-off check: the next holder's role ($1; `none` for the service principal; local to
 * the transaction when $2), advisory locks released, and a division by zero (22012) when
 * anything else is left.
 */
const HANDOFF_CHECK =
  "SELECT pg_catalog.set_config('role', $1, $2::boolean), pg_catalog.pg_advisory_unlock_all()," +
  ` 1 / (${NOTHING_LEFT})::int AS clean`;
/** The SQLSTATE of the check's division by zero: something is left, clear it all. */
const LEFT_SOMETHING = '22012';

/** The check inside a set-role query: named, so parsed and planned once per connection. */
const INLINE_CHECK = 'lakebase_kit_handoff';
const RESET_ALL: PreambleStatement = Object.freeze({ text: 'RESET ALL' });
/** Preambles built once per role (a hand-off needs the role as a value; bounded). */
const MAX_CACHED_PREAMBLES = 1000;
/** The check as a checkout's own statement (named too; pg tracks its parsing). */
const CHECKOUT_CHECK = 'lakebase_kit_handoff_checkout';

/** SQL `PREPARE`d statements, deallocated by name (pg's protocol-level ones are kept). */
const DEALLOCATE_SQL_PREPARED =
  'DO $lakebase_kit$ DECLARE s record; BEGIN FOR s IN SELECT name FROM pg_catalog.pg_prepared_statements ' +
  "WHERE from_sql LOOP EXECUTE pg_catalog.format('DEALLOCATE %I', s.name); END LOOP; END $lakebase_kit$";

/**
 * Everything a session can keep, cleared (after any open transaction ends). `RESET ALL` leaves
 * the role alone, hence `RESET ROLE`; SQL prepared statements are deallocated by name
 * (`from_sql`), never with `DEALLOCATE ALL`, which would drop pg's named statements too.
 */
const CLEAR_SESSION = [
  'RESET ROLE',
  'CLOSE ALL',
  'RESET ALL',
  'UNLISTEN *',
  'SELECT pg_catalog.pg_advisory_unlock_all()',
  'DISCARD TEMP',
  'DISCARD SEQUENCES',
  DEALLOCATE_SQL_PREPARED,
] as const;

/** The rare second round trip: the open transaction rolled back, then the session cleared. */
export const FULL_CLEAR = ['ROLLBACK', ...CLEAR_SESSION].join('; ');

/**
 * On the pooler (PgBouncer, transaction mode) each round trip may run on another server
 * connection, which any client of the pooler may have used last: every set-role query carries
 * the cheap check (unnamed: the pooler keeps no prepared statement), and when it finds
 * leftovers the query runs again with the whole clear in its own preamble, on whichever server
 * it lands (one round trip, one server).
 */
const POOLED_CLEAR: readonly PreambleStatement[] = Object.freeze(
  CLEAR_SESSION.map((text) => Object.freeze({ text })),
);

/** What a set-role query sends before its statement. */
export interface InlinePreamble {
  statements: PreambleStatement[];
  /** The index of the hand-off check among them, when there is one. */
  check: number | undefined;
}

/** How a set-role query ended, for its caller. */
export type InlineOutcome =
  /** Done; the connection goes back to the pool. */
  | 'done'
  /** The check found leftovers: clear the connection (`clear`), then run the query again. */
  | 'left-something'
  /** The connection's state is unknown: destroy it. */
  | 'destroy';

export class SessionStates {
  /** Connections and their last holder; a connection not in here is fresh or cleared. */
  readonly #holders = new WeakMap<object, Holder>();
  /** Connections on which the inline hand-off check is prepared. */
  readonly #prepared = new WeakSet<object>();
  /** Per role: [same holder, hand-off that parses the check, hand-off that binds it]. */
  readonly #preambles = new Map<string, [InlinePreamble, InlinePreamble, InlinePreamble]>();
  readonly #endpoint: string | undefined;
  readonly #missingRoleMessage: (identity: string) => string;
  /** Per role, on the pooler: [the checked preamble, the clearing one]. */
  readonly #pooledPreambles = new Map<string, [InlinePreamble, InlinePreamble]>();
  /** True for the pooler's connections (see `POOLED_CLEAR`). */
  readonly pooled: boolean;

  constructor(options: {
    endpoint?: string;
    missingRoleMessage: (identity: string) => string;
    pooled?: boolean;
  }) {
    this.#endpoint = options.endpoint;
    this.#missingRoleMessage = options.missingRoleMessage;
    this.pooled = options.pooled === true;
  }

  /**
   * Makes `client`'s session ready for `target` (undefined: the service principal) before it is
   * handed out: undefined when nothing is to be done (the hot path: no round trip), else one
   * round trip (two when leftovers must be cleared). A rejection means: destroy the connection.
   */
  prepare(client: pg.PoolClient, target: SessionTarget | undefined): Promise<void> | undefined {
    if (target?.inline) return undefined; // the caller's RoleQuery hands it off itself
    if (this.pooled) {
      // no session lasts on the pooler: sessions as a user go to the direct host (router.ts)
      return target === undefined
        ? undefined
        : Promise.reject(new Error('lakebase: a set-role session cannot run on the pooler'));
    }
    const holder = this.#holders.get(client);
    if (target === undefined) {
      if (holder === undefined || holder === SERVICE_PRINCIPAL) {
        this.#holders.set(client, SERVICE_PRINCIPAL);
        return undefined;
      }
      return this.#checkout(client, 'none', SERVICE_PRINCIPAL);
    }
    // A user's pool client: the role is set for the session, every time (their last use may
    // have reset it); the clear only when someone else held the connection.
    if (holder === target.role || holder === undefined) {
      this.#holders.set(client, UNKNOWN); // until the answer is in
      return client.query(`SET ROLE ${pg.escapeIdentifier(target.role)}`).then(
        () => {
          this.#holders.set(client, target.role);
        },
        (error: unknown) => {
          throw this.setRoleError(target.role, error);
        },
      );
    }
    return this.#checkout(client, target.role, target.role);
  }

  /**
   * The preamble of a set-role query of `role` on `client`: `SET LOCAL ROLE` for the same
   * holder (or a fresh connection), else the cheap hand-off. Until `afterInline`, the holder is
   * unknown.
   */
  inline(client: pg.PoolClient, role: string): InlinePreamble {
    if (this.pooled) return this.#pooledOf(role)[0];
    const holder = this.#holders.get(client);
    this.#holders.set(client, UNKNOWN);
    const [same, parse, bind] = this.#preamblesOf(role);
    if (holder === role || holder === undefined) return same;
    return this.#prepared.has(client) ? bind : parse;
  }

  /** On the pooler, after the check found leftovers: the preamble that clears them all first. */
  clearing(role: string): InlinePreamble {
    return this.#pooledOf(role)[1];
  }

  #pooledOf(role: string): [InlinePreamble, InlinePreamble] {
    let built = this.#pooledPreambles.get(role);
    if (!built) {
      const setRole = { text: "SELECT pg_catalog.set_config('role', $1, true)", values: [role] };
      built = [
        {
          statements: [RESET_ALL, { text: HANDOFF_CHECK, values: [role, 'true'] }],
          check: 1,
        },
        { statements: [...POOLED_CLEAR, setRole], check: undefined },
      ];
      if (this.#pooledPreambles.size >= MAX_CACHED_PREAMBLES) {
        this.#pooledPreambles.delete(this.#pooledPreambles.keys().next().value as string);
      }
      this.#pooledPreambles.set(role, built);
    }
    return built;
  }

  #preamblesOf(role: string): [InlinePreamble, InlinePreamble, InlinePreamble] {
    let built = this.#preambles.get(role);
    if (!built) {
      const check = (parse: boolean): InlinePreamble => ({
        statements: [
          RESET_ALL,
          { name: INLINE_CHECK, text: HANDOFF_CHECK, parse, values: [role, 'true'] },
        ],
        check: 1,
      });
      built = [
        { statements: [{ text: `SET LOCAL ROLE ${pg.escapeIdentifier(role)}` }], check: undefined },
        check(true),
        check(false),
      ];
      if (this.#preambles.size >= MAX_CACHED_PREAMBLES) {
        this.#preambles.delete(this.#preambles.keys().next().value as string);
      }
      this.#preambles.set(role, built);
    }
    return built;
  }

  /**
   * After a set-role query of `role`: `failedAt` is the index of the preamble statement that
   * failed, `preamble.statements.length` for the statement itself, undefined when it succeeded.
   */
  afterInline(
    client: pg.PoolClient,
    role: string,
    preamble: InlinePreamble,
    failedAt: number | undefined,
    error?: unknown,
  ): InlineOutcome {
    // the named check was parsed when the first failure came at or after its own step
    if (preamble.check !== undefined && (failedAt === undefined || failedAt >= preamble.check)) {
      this.#prepared.add(client);
    }
    if (failedAt === undefined) {
      this.#holders.set(client, role);
      return 'done';
    }
    if (failedAt === preamble.check && codeOf(error) === LEFT_SOMETHING) return 'left-something';
    // the implicit transaction was rolled back (RESET ALL with it): the next holder, `role`
    // too, gets the check; a preamble that failed otherwise leaves the state unknown
    this.#holders.set(client, UNKNOWN);
    if (failedAt === preamble.statements.length) return 'done';
    return isRoleError(error) ? 'done' : 'destroy';
  }

  /** Clears everything a session can keep (the rare second round trip); rejects: destroy it. */
  clear(client: pg.PoolClient): Promise<void> {
    this.#holders.set(client, UNKNOWN);
    return client.query(FULL_CLEAR).then(() => {
      this.#holders.delete(client);
    });
  }

  /**
   * Resets a user's released client for the pool (ends its transaction and its role; the next
   * holder's hand-off checks the rest): resolves true when it may be reused, false when it must
   * be destroyed.
   */
  releaseReset(client: pg.PoolClient): Promise<boolean> {
    return client.query('ROLLBACK; RESET ROLE').then(
      () => true,
      () => false,
    );
  }

  /** A `SET ROLE` failure as the typed error it means (a missing role, no SET grant). */
  setRoleError(role: string, error: unknown): Error {
    const code = codeOf(error);
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
          (this.#endpoint ? ` (branch ${branchOrPlaceholder(this.#endpoint)})` : '') +
          "; or use userPools.mode 'auto' (login for such users)",
        { option: 'userPools.mode' },
      );
    }
    return error instanceof Error ? error : new Error(String(error));
  }

  /** A checkout's hand-off: `RESET ALL` and the check, then (if needed) the full clear. */
  async #checkout(client: pg.PoolClient, role: string, next: Holder): Promise<void> {
    this.#holders.set(client, UNKNOWN);
    const check = new RoleQuery(
      { name: CHECKOUT_CHECK, text: HANDOFF_CHECK, values: [role, 'false'] },
      undefined,
      [{ text: 'RESET ALL' }],
    );
    try {
      await new Promise<void>((resolve, reject) => {
        check.once('end', () => resolve());
        check.once('error', reject);
        client.query(check as unknown as pg.QueryConfig);
      });
    } catch (error) {
      if (codeOf(error) !== LEFT_SOMETHING || check.failedAt !== undefined) {
        throw typeof next === 'string' ? this.setRoleError(next, error) : error;
      }
      await this.clear(client);
      this.#holders.set(client, UNKNOWN);
      if (typeof next === 'string') {
        await client.query(`SET ROLE ${pg.escapeIdentifier(next)}`).catch((failure: unknown) => {
          throw this.setRoleError(next, failure);
        });
      }
    }
    this.#holders.set(client, next);
  }
}

function codeOf(error: unknown): string | undefined {
  return (error as { code?: string } | null)?.code;
}

/** A `SET ROLE` refused for the role (missing, or no SET grant): the connection is fine. */
function isRoleError(error: unknown): boolean {
  const code = codeOf(error);
  return code === '22023' || code === '42704' || code === '42501';
}
