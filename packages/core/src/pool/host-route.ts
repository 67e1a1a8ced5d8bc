/**
 * `HostRoute`: which host a pool's next connection goes to. Pooled mode starts on Lakebase's
 * pooled host (PgBouncer); when the pooler refuses the service principal's OAuth login even
 * with a fresh token, the route falls back to the direct host once, for good, with one log
 * line, and `stats()` says so. Read by the client class when it builds a connection (its own
 * constructor options, no pg internals).
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
  #fellBack: string | undefined;

  /** `pooler` undefined: always `direct`; `allowFallback` false: never leave the pooler. */
  constructor(
    direct: HostPort,
    pooler: HostPort | undefined,
    options: { allowFallback: boolean; logger: Logger; poolName: string },
  ) {
    this.#direct = direct;
    this.#pooler = pooler;
    this.#logger = options.logger;
    this.#poolName = options.poolName;
    this.#canFallBack = options.allowFallback && pooler !== undefined;
  }

  /** Where the next connection goes. */
  current(): HostPort {
    return this.#pooler && this.#fellBack === undefined ? this.#pooler : this.#direct;
  }

  /** True while connections go to the pooler. */
  get pooled(): boolean {
    return this.#pooler !== undefined && this.#fellBack === undefined;
  }

  /**
   * The pooler rejected an OAuth login that a fresh token did not fix: true when the route now
   * goes to the direct host (the caller retries there), false when it cannot fall back.
   */
  fallBack(code: string | undefined): boolean {
    if (!this.#canFallBack || this.#fellBack !== undefined || !this.#pooler) return false;
    this.#fellBack = `the pooler ${this.#pooler.host}:${this.#pooler.port} rejected an OAuth login with a fresh token (${code ?? 'auth'})`;
    this.#logger.warn(
      `lakebase: ${this.#poolName}: ${this.#fellBack}; using the direct host ${this.#direct.host}:${this.#direct.port} from now on ` +
        '(for the pooler, give it a password role: pooler.user/pooler.password, or set pooler.fallback false to fail instead)',
    );
    return true;
  }

  stats(): HostRouteStats {
    const { host, port } = this.current();
    return { host, port, pooled: this.pooled, fellBack: this.#fellBack };
  }
}
