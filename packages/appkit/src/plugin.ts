/**
 * `lakebase()` for `@databricks/appkit`: a real AppKit plugin (`extends Plugin`, `toPlugin`)
 * built on one `Lakebase` of `@lakebase-kit/core`. Same manifest, config and exports as the
 * official plugin; `asUser(req)` returns pools and ORM clients that really run as the user.
 */

import type { BasePluginConfig } from '@databricks/appkit';
import { Plugin, toPlugin } from '@databricks/appkit';
import {
  ClosedError,
  createLakebase,
  type Lakebase,
  type LakebasePoolConfig,
  type Logger,
  type LoggerConfig,
  type RequestLike,
  resolveLogger,
  type UserPoolsConfig,
} from '@lakebase-kit/core';
import { type LakebaseExports, servicePrincipalExports, userExports } from './exports.js';
import { appkitStyleLogger } from './logger.js';
import { manifest } from './manifest.js';
import { loadOrmModules, OrmAccessors } from './orm.js';
import { logStartupChecks } from './startup-checks.js';

export interface LakebasePluginConfig extends BasePluginConfig {
  /** Options of the service principal's pool (as in the official plugin). */
  pool?: Partial<LakebasePoolConfig>;
  /** Limits of the per-user pools (`max` 3, `maxConnections` 50, `idleTimeoutMillis` 30000). */
  userPools?: UserPoolsConfig;
  /** Requests without a user token run as the SP (default: `NODE_ENV === 'development'`). */
  developmentFallback?: boolean;
  /** A logger (AppKit's, pino, console...) or console levels; default AppKit-style lines. */
  logger?: Logger | LoggerConfig;
  /** Use this `Lakebase` (shared with other code; the plugin never closes it). */
  lakebase?: Lakebase;
  /** Run `lakebase-kit doctor`'s checks at startup and log problems as warnings (default true). */
  doctor?: boolean;
}

export class LakebasePlugin extends Plugin<LakebasePluginConfig> {
  static manifest = manifest;

  #lakebase: Lakebase | undefined;
  #owned = false;
  #orm: OrmAccessors | undefined;
  #closing: Promise<void> | undefined;
  #shutDown = false;
  #startupChecks: Promise<unknown> | undefined;
  readonly #logger: Logger;

  constructor(config: LakebasePluginConfig) {
    super(config);
    this.config = config;
    this.#logger = config.logger ? resolveLogger(config.logger) : appkitStyleLogger();
  }

  override async setup(): Promise<void> {
    const { pool, userPools, developmentFallback, lakebase } = this.config;
    if (lakebase) {
      this.#lakebase = lakebase;
    } else {
      this.#lakebase = createLakebase({
        ...pool,
        userPools,
        developmentFallback,
        logger: pool?.logger ?? this.#logger,
      });
      this.#owned = true;
    }
    this.#orm = new OrmAccessors(this.#lakebase, await loadOrmModules(this.#logger));
    this.#logger.info('Lakebase pools ready (service principal pool + per-user registry)');
    if (this.config.doctor !== false) {
      this.#startupChecks = logStartupChecks(this.#lakebase, pool, this.#logger).catch(
        (error: unknown) => this.#logger.warn('The startup checks could not run', error),
      );
    }
  }

  #ready(): { lakebase: Lakebase; orm: OrmAccessors } {
    if (!this.#lakebase || !this.#orm || this.#shutDown) {
      throw new ClosedError('The lakebase plugin is not set up or was shut down');
    }
    return { lakebase: this.#lakebase, orm: this.#orm };
  }

  override exports(): LakebaseExports {
    const { lakebase, orm } = this.#ready();
    return servicePrincipalExports(lakebase, orm);
  }

  /**
   * The user's view of the exports. AppKit calls `plugin.asUser(req).exports()`; unlike the
   * base class's context proxy, the pool and clients returned here are bound to the user for
   * good, including calls made after the request's async context is gone.
   */
  // @ts-expect-error AppKit types asUser as returning the plugin; AppKit only calls exports() on it.
  override asUser(req: RequestLike): { exports(): LakebaseExports } {
    const { lakebase, orm } = this.#ready();
    const scope = lakebase.asUser(req);
    const view = userExports(lakebase, orm, scope, req);
    return { exports: () => view };
  }

  /** Closes the ORM clients and (unless shared) every pool; called by AppKit on shutdown. */
  close(): Promise<void> {
    this.#shutDown = true;
    this.#closing ??= (async () => {
      const orm = this.#orm;
      const lakebase = this.#lakebase;
      await this.#startupChecks;
      await orm?.close();
      if (lakebase && this.#owned) await lakebase.close();
      this.#logger.info('Lakebase pools closed');
    })();
    return this.#closing;
  }

  override abortActiveOperations(): void {
    super.abortActiveOperations();
    this.close().catch((error: unknown) => {
      this.#logger.error('Error closing Lakebase pools', error);
    });
  }
}

/** `createApp({ plugins: [server(), lakebase({ pool: { max: 10 } })] })` */
export const lakebase = toPlugin(LakebasePlugin);
