/**
 * Why a user's login was rejected, when the reason is that their Postgres role does not exist:
 * asked once through the service principal's pool (`pg_roles` is readable by every role) and
 * remembered for a while, so that requests of a user without a role fail at once with a
 * helpful `AuthenticationError` (403) instead of each starting a login.
 */
import { AuthenticationError } from '../base/errors.js';
import { LruMap } from '../base/lru-map.js';
import { systemClock } from '../pool/schedule.js';
import type { Clock } from '../base/types.js';

/** Runs one query as the service principal. */
export type ServicePrincipalQuery = (
  text: string,
  values: unknown[],
) => Promise<{ rows: Array<Record<string, unknown>> }>;

export interface MissingRolesOptions {
  query: ServicePrincipalQuery;
  /** `projects/<p>/branches/<b>/endpoints/<e>`, to name the branch in the fix. */
  endpoint: string | undefined;
  /** How long a missing role is remembered (default 30000). */
  rememberMs?: number;
  /** Identities remembered at once (default 1000). */
  max?: number;
  clock?: Clock;
}

/** The SQL that tells whether a role exists (readable by any role, including the SP). */
export const ROLE_EXISTS_SQL = 'select 1 from pg_catalog.pg_roles where rolname = $1';

/** The message of a missing role: the identity and the commands that create its role. */
export function missingRoleMessage(identity: string, endpoint: string | undefined): string {
  const branch =
    endpoint?.split('/').slice(0, 4).join('/') ?? 'projects/<project>/branches/<branch>';
  const spec = JSON.stringify({ spec: { identity_type: 'USER', postgres_role: identity } });
  return (
    `"${identity}" has no Postgres role on this Lakebase branch, so their login is rejected. ` +
    `Create it with \`databricks postgres create-role ${branch} --json '${spec}'\` ` +
    `(or \`lakebase-kit roles add ${identity}\`), then grant it what the app needs ` +
    `(\`lakebase-kit roles grant ${identity} --schema <schema>\`).`
  );
}

export class MissingRoles {
  private readonly query: ServicePrincipalQuery;
  private readonly endpoint: string | undefined;
  private readonly rememberMs: number;
  private readonly clock: Clock;
  private readonly missing: LruMap<string, number>;

  constructor(options: MissingRolesOptions) {
    this.query = options.query;
    this.endpoint = options.endpoint;
    this.rememberMs = options.rememberMs ?? 30_000;
    this.clock = options.clock ?? systemClock;
    this.missing = new LruMap(options.max ?? 1000);
  }

  /** The error for an identity recently found without a role (no I/O), else undefined. */
  known(identity: string): AuthenticationError | undefined {
    const until = this.missing.peek(identity);
    if (until === undefined) return undefined;
    if (this.clock.now() >= until) {
      this.missing.delete(identity);
      return undefined;
    }
    return this.error(identity);
  }

  /**
   * After a rejected login: the error to fail with when the role does not exist, else
   * undefined (the login was rejected for another reason, e.g. a stale token). A failure to
   * ask is not an answer: undefined.
   */
  async check(identity: string): Promise<AuthenticationError | undefined> {
    let exists: boolean;
    try {
      exists = (await this.query(ROLE_EXISTS_SQL, [identity])).rows.length > 0;
    } catch {
      return undefined;
    }
    if (exists) {
      this.missing.delete(identity);
      return undefined;
    }
    this.missing.set(identity, this.clock.now() + this.rememberMs);
    return this.error(identity);
  }

  private error(identity: string): AuthenticationError {
    return new AuthenticationError(missingRoleMessage(identity, this.endpoint), {
      status: 403,
      identity,
    });
  }
}
