/**
 * Why a user's login was rejected, when the reason is that their Postgres role does not exist:
 * asked once through the service principal's pool (`pg_roles` is readable by every role) and
 * remembered for a while, so that requests of a user without a role fail at once with a
 * helpful `AuthenticationError` (403) instead of each starting a login.
 */
import { type Clock, systemClock } from '../base/clock.js';
import { branchOrPlaceholder } from '../base/endpoint-path.js';
import { AuthenticationError } from '../base/errors.js';
import { LruMap } from '../base/lru-map.js';
import { createRoleCommands, ROLE_EXISTS_SQL } from '../base/role-name.js';
import { shellWord } from '../base/shell-word.js';
import type { Queryable } from '../base/types.js';

export interface MissingRolesOptions {
  /** The service principal's pool (`pg_roles` is readable by every role). */
  sp: Queryable;
  /** `projects/<p>/branches/<b>/endpoints/<e>`, to name the branch in the fix. */
  endpoint: string | undefined;
  /** How long a missing role is remembered (default 30000). */
  rememberMs?: number;
  /** Identities remembered at once (default 1000). */
  max?: number;
  clock?: Clock;
}

/** The message of a missing role: the identity and the commands that create its role. */
export function missingRoleMessage(identity: string, endpoint: string | undefined): string {
  const branch = branchOrPlaceholder(endpoint);
  const create = createRoleCommands(identity, { branch, identityType: 'USER' });
  return (
    `"${identity}" has no Postgres role on this Lakebase branch, so their login is rejected. ` +
    `Create it with \`${create.databricks}\` (or \`${create.kit}\`), then grant it what the ` +
    `app needs (\`lakebase-kit roles grant ${shellWord(identity)} --schema <schema>\`).`
  );
}

export class MissingRoles {
  readonly #sp: Queryable;
  readonly #endpoint: string | undefined;
  readonly #rememberMs: number;
  readonly #clock: Clock;
  readonly #missing: LruMap<string, number>;

  constructor(options: MissingRolesOptions) {
    this.#sp = options.sp;
    this.#endpoint = options.endpoint;
    this.#rememberMs = options.rememberMs ?? 30_000;
    this.#clock = options.clock ?? systemClock;
    this.#missing = new LruMap(options.max ?? 1000);
  }

  /** The error for an identity recently found without a role (no I/O), else undefined. */
  known(identity: string): AuthenticationError | undefined {
    const until = this.#missing.peek(identity);
    if (until === undefined) return undefined;
    if (this.#clock.now() >= until) {
      this.#missing.delete(identity);
      return undefined;
    }
    return this.#error(identity);
  }

  /**
   * After a rejected login: the error to fail with when the role does not exist, else
   * undefined (the login was rejected for another reason, e.g. a stale token). A failure to
   * ask is not an answer: undefined.
   */
  async check(identity: string): Promise<AuthenticationError | undefined> {
    let exists: boolean;
    try {
      exists = (await this.#sp.query(ROLE_EXISTS_SQL, [identity])).rows.length > 0;
    } catch {
      return undefined;
    }
    if (exists) {
      this.#missing.delete(identity);
      return undefined;
    }
    this.#missing.set(identity, this.#clock.now() + this.#rememberMs);
    return this.#error(identity);
  }

  #error(identity: string): AuthenticationError {
    return new AuthenticationError(missingRoleMessage(identity, this.#endpoint), {
      status: 403,
      identity,
    });
  }
}
