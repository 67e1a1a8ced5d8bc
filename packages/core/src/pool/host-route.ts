/**
 * `HostRoute`: which host a pool's next connection goes to. Pooled mode starts on Lakebase's
 * pooled host (PgBouncer); when the pooler refuses the service principal's OAuth login even
 * with a fresh token, the route falls back to the direct host once, for good, with one log
 * line, and `stats()` says so. Read by the client class when it builds a connection (its own
 * constructor options, no pg internals).
 *
 * The users' route (login mode) is shared by every user's pool, so one user's role that cannot
 * log in (NOLOGIN, no CONNECT) must not move everyone off the pooler: it falls back when the
 * service principal's route has (`follows`), or once `distinct` different identities were
 * refused with fresh tokens.
 */
import type { Logger } from '../base/logger.js';
import type { HostPort } from '../config/scale-out.js';

export interface HostRouteStats {
  /** The host connections go to now. */
  host: string;
  port: number;
  /** True when pooled mode is on and connections still go to the pooler. */
  pooled: boolean;
  /** Why the route left the pooler (once), if it did. */
  fellBack: string | undefined;
}

export class HostRoute {
  readonly #pooler: HostPort | undefined;
  readonly #direct: HostPort;
  readonly #logger: Logger;
  readonly #poolName: string;
  readonly #canFallBack: boolean;
  readonly #distinct: number;
  readonly #follows: HostRoute | undefined;
  /** The identities refused so far (at most `distinct`), while fewer than `distinct`. */
  readonly #refused = new Set<string>();
  #fellBack: string | undefined;

  /**
   * `pooler` undefined: always `direct`; `allowFallback` false: never leave the pooler.
   * `distinct` (default 1): how many different identities the pooler must refuse first;
   * `follows`: a route whose fallback this one takes too (the service principal's).
   */
  constructor(
    direct: HostPort,
    pooler: HostPort | undefined,
    options: {
      allowFallback: boolean;
      logger: Logger;
      poolName: string;
      distinct?: number;
      follows?: HostRoute;
    },
  ) {
    this.#direct = direct;
    this.#pooler = pooler;
    this.#logger = options.logger;
    this.#poolName = options.poolName;
    this.#canFallBack = options.allowFallback && pooler !== undefined;
    this.#distinct = Math.max(1, options.distinct ?? 1);
    this.#follows = options.allowFallback ? options.follows : undefined;
  }

  /** Where the next connection goes. */
  current(): HostPort {
    return this.#pooler && this.fellBackReason === undefined ? this.#pooler : this.#direct;
  }

  /** True while connections go to the pooler. */
  get pooled(): boolean {
    return this.#pooler !== undefined && this.fellBackReason === undefined;
  }

  /** Why connections left the pooler (this route's own reason, or the one it follows). */
  get fellBackReason(): string | undefined {
    if (this.#fellBack !== undefined) return this.#fellBack;
    const followed = this.#follows?.fellBackReason;
    return followed === undefined ? undefined : `as the service principal's: ${followed}`;
  }

  /**
   * The pooler rejected an OAuth login of `identity` that a fresh token did not fix: true when
   * the route now goes to the direct host (the caller retries there), false when it cannot (or
   * not yet: fewer than `distinct` identities refused) fall back.
   */
  fallBack(code: string | undefined, identity = ''): boolean {
    if (!this.#canFallBack || this.fellBackReason !== undefined || !this.#pooler) return false;
    if (this.#distinct > 1) {
      this.#refused.add(identity);
      if (this.#refused.size < this.#distinct) return false;
      this.#refused.clear();
    }
    this.#fellBack = `the pooler ${this.#pooler.host}:${this.#pooler.port} rejected an OAuth login with a fresh token (${code ?? 'auth'})`;
    this.#logger.warn(
      `lakebase: ${this.#poolName}: ${this.#fellBack}; using the direct host ${this.#direct.host}:${this.#direct.port} from now on ` +
        '(for the pooler, give it a password role: pooler.user/pooler.password, or set pooler.fallback false to fail instead)',
    );
    return true;
  }

  stats(): HostRouteStats {
    const { host, port } = this.current();
    return { host, port, pooled: this.pooled, fellBack: this.fellBackReason };
  }
}
