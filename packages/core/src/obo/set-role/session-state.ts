/**
 * `SessionStates`: the one owner of what a connection of the service principal's pool carries
 * between checkouts in `userPools.mode: 'set-role'`: who held it last, and what a hand-off to
 * someone else must clear. Every checkout of the SP pool asks it (`prepare`), set-role queries
 * ask it for their preamble (`inline`) and report how they ended (`afterInline`), and released
 * user clients are reset by it (`releaseReset`).
 *
 * A hand-off — the connection going from one holder (a user, or the service principal) to
 * another — clears everything a session can keep: an open transaction, the role, settings,
 * cursors (`WITH HOLD` included), temp tables, `LISTEN`, session advisory locks, sequence state
 * and statements made with SQL `PREPARE` (pg's own protocol-level named statements are kept, so
 * its statement cache stays right). It is one round trip: for a set-role query, part of the
 * query's own (`RoleQuery`); otherwise one multi-statement query. The same holder again keeps
 * its session, as its own pool would in login mode. A connection whose state is unknown (a
 * clear that failed) is destroyed, never reused.
 */
import pg from 'pg';
import { branchOrPlaceholder } from '../../base/endpoint-path.js';
import { AuthenticationError, ConfigurationError } from '../../base/errors.js';
import type { SessionTarget } from '../../pool/lakebase-pool.js';

/** The service principal as a holder (its login role, no `SET ROLE`). */
const SERVICE_PRINCIPAL = Symbol('service principal');
/** A holder whose leftovers are unknown (a set-role query failed after its clear): clear always. */
const UNKNOWN = Symbol('unknown');
type Holder = string | typeof SERVICE_PRINCIPAL | typeof UNKNOWN;

/**
 * Everything a session keeps, cleared — as statements that also run inside a transaction (a
 * `RoleQuery`'s implicit one). `RESET ALL` leaves the role alone, hence `RESET ROLE`; SQL
 * prepared statements are deallocated by name (`from_sql`), never with `DEALLOCATE ALL`, which
 * would drop pg's named statements too.
 */
export const CLEAR_SESSION: readonly string[] = Object.freeze([
  'RESET ROLE',
  'CLOSE ALL',
  'RESET ALL',
  'UNLISTEN *',
  'SELECT pg_catalog.pg_advisory_unlock_all()',
  'DISCARD TEMP',
  'DISCARD SEQUENCES',
  'DO $lakebase_kit$ DECLARE s record; BEGIN FOR s IN SELECT name FROM pg_catalog.pg_prepared_statements ' +
    "WHERE from_sql LOOP EXECUTE pg_catalog.format('DEALLOCATE %I', s.name); END LOOP; END $lakebase_kit$",
]);

/** The clear as one simple-protocol query, after ending any transaction left open. */
const CLEAR_QUERY = ['ROLLBACK', ...CLEAR_SESSION].join('; ');

/** What a set-role query sends before its statement. */
export interface InlinePreamble {
  /** Statements, in order, before the statement itself (the clear, if any, then `SET LOCAL ROLE`). */
  statements: string[];
  /** How many of them are the clear (a failure among them leaves the connection unknown). */
  clearing: number;
}

export class SessionStates {
  /** Connections and their last holder; a connection not in here is fresh or cleared. */
  readonly #holders = new WeakMap<object, Holder>();
  readonly #endpoint: string | undefined;
  readonly #missingRoleMessage: (identity: string) => string;

  constructor(options: { endpoint?: string; missingRoleMessage: (identity: string) => string }) {
    this.#endpoint = options.endpoint;
    this.#missingRoleMessage = options.missingRoleMessage;
  }

  /**
   * Makes `client`'s session ready for `target` (undefined: the service principal) before it is
   * handed out: undefined when nothing is to be done (the hot path: no round trip), else one
   * round trip. A rejection means the connection must be destroyed.
   */
  prepare(client: pg.PoolClient, target: SessionTarget | undefined): Promise<void> | undefined {
    if (target?.inline) return undefined; // the caller's RoleQuery hands it off itself
    const holder = this.#holders.get(client);
    const next: Holder = target?.role ?? SERVICE_PRINCIPAL;
    if (holder === next) return undefined;
    const clear = holder !== undefined;
    if (next === SERVICE_PRINCIPAL) {
      if (!clear) {
        this.#holders.set(client, SERVICE_PRINCIPAL);
        return undefined;
      }
      return client.query(CLEAR_QUERY).then(() => {
        this.#holders.set(client, SERVICE_PRINCIPAL);
      });
    }
    const role = next as string;
    const setRole = `SET ROLE ${pg.escapeIdentifier(role)}`;
    this.#holders.set(client, UNKNOWN); // until the answer is in
    return client.query(clear ? `${CLEAR_QUERY}; ${setRole}` : setRole).then(
      () => {
        this.#holders.set(client, role);
      },
      (error: unknown) => {
        throw this.setRoleError(role, error);
      },
    );
  }

  /**
   * The preamble of a set-role query of `role` on `client`: the clear when someone else held the
   * connection, then `SET LOCAL ROLE`. Until `afterInline`, the holder is unknown.
   */
  inline(client: pg.PoolClient, role: string): InlinePreamble {
    const holder = this.#holders.get(client);
    const clear = holder !== undefined && holder !== role ? CLEAR_SESSION : [];
    this.#holders.set(client, UNKNOWN);
    return {
      statements: [...clear, `SET LOCAL ROLE ${pg.escapeIdentifier(role)}`],
      clearing: clear.length,
    };
  }

  /**
   * After a set-role query: `role` holds the connection when it succeeded; when it failed, its
   * transaction (and with it the clear's transactional part) was rolled back, so the next
   * holder — `role` too — gets a full clear.
   */
  afterInline(client: pg.PoolClient, role: string, succeeded: boolean): void {
    this.#holders.set(client, succeeded ? role : UNKNOWN);
  }

  /**
   * Resets a user's released client for the pool (ends its transaction, clears its session):
   * resolves true when it may be reused, false when it must be destroyed.
   */
  releaseReset(client: pg.PoolClient): Promise<boolean> {
    this.#holders.set(client, UNKNOWN);
    return client.query(CLEAR_QUERY).then(
      () => {
        this.#holders.delete(client);
        return true;
      },
      () => false,
    );
  }

  /** A `SET ROLE` failure as the typed error it means (a missing role, no SET grant). */
  setRoleError(role: string, error: unknown): Error {
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
          (this.#endpoint ? ` (branch ${branchOrPlaceholder(this.#endpoint)})` : '') +
          "; or use userPools.mode 'auto' (login for such users)",
        { option: 'userPools.mode' },
      );
    }
    return error instanceof Error ? error : new Error(String(error));
  }
}
