/**
 * `lakebase()` for `@databricks/appkit`: a real AppKit plugin (`extends Plugin`, `toPlugin`)
 * built on one `Lakebase` of `@lakebase-kit/core`. Same manifest, config, exports, lifecycle
 * log lines, errors (AppKit's classes) and agent tool as the official plugin; `asUser(req)`
 * returns pools, ORM clients and the agent tool, all of which really run as the user.
 */

import type { BasePluginConfig } from '@databricks/appkit';
import { InitializationError, Plugin, toPlugin } from '@databricks/appkit';
import type {
  AgentToolDefinition,
  ToolkitEntry,
  ToolkitOptions,
  ToolProvider,
} from '@databricks/appkit/beta';
import {
  AuthenticationError as CoreAuthenticationError,
  createLakebase,
  type Lakebase,
  type LakebasePoolConfig,
  type Logger,
  type LoggerConfig,
  type RequestLike,
  type UserPoolsConfig,
  type UserScope,
} from '@lakebase-kit/core';
import type { DoctorReport } from '@lakebase-kit/core/admin';
import type pg from 'pg';
import { AgentTools, requestlessScope } from './agent-tools.js';
import { appkitAsync, appkitErrors, missingUserError, toAppKitError } from './errors.js';
import { type LakebaseExports, servicePrincipalExports, userExports } from './exports.js';
import { pluginLogger } from './logger.js';
import { manifest } from './manifest.js';
import { loadOrmModules, OrmAccessors } from './orm.js';
import type { LakebaseExposeAsAgentTool } from './query-tool.js';
import { logStartupChecks } from './startup-checks.js';

export interface LakebasePluginConfig extends BasePluginConfig {
  /** Options of the service principal's pool (as in the official plugin). */
  pool?: Partial<LakebasePoolConfig>;
  /** Limits of the per-user pools (`max` 3, `maxConnections` 50, `idleTimeoutMillis` 30000). */
  userPools?: UserPoolsConfig;
  /** Requests without a user token run as the SP (default: `NODE_ENV === 'development'`). */
  developmentFallback?: boolean;
  /**
   * A logger (pino, console...) or the levels of the plugin's AppKit-style lines
   * (`[appkit:lakebase] ...`; default: info, warn, error, and debug when `DEBUG` names it).
   */
  logger?: Logger | LoggerConfig;
  /** Use this `Lakebase` (shared with other code; the plugin never closes it). */
  lakebase?: Lakebase;
  /**
   * Run `lakebase-kit doctor`'s checks once the app is set up — when AppKit's server starts,
   * after `onPluginsReady` — and log what they found (default true).
   */
  doctor?: boolean;
  /**
   * Expose a `query` tool to AppKit agents (off by default). It runs as the requesting user;
   * read-only unless `readOnly: false` (then annotated destructive: agents ask for approval);
   * it answers the rows, or with `answer: 'detailed'` the whole result.
   */
  exposeAsAgentTool?: LakebaseExposeAsAgentTool;
}

type Router = Parameters<Plugin['injectRoutes']>[0];

/**
 * `plugin` with some members replaced; every other member is the plugin's own, run on the
 * plugin itself (its private fields are not the proxy's). What AppKit's own `asUser` returns is
 * such a proxy too.
 */
function viewOf<T extends object>(plugin: T, overrides: Record<PropertyKey, unknown>): T {
  return new Proxy(plugin, {
    get(target, prop) {
      if (Object.hasOwn(overrides, prop)) return overrides[prop];
      const value: unknown = Reflect.get(target, prop, target);
      return typeof value === 'function' ? value.bind(target) : value;
    },
    has: (target, prop) => Object.hasOwn(overrides, prop) || Reflect.has(target, prop),
  });
}

export class LakebasePlugin extends Plugin<LakebasePluginConfig> implements ToolProvider {
  static manifest = manifest;

  #lakebase: Lakebase | undefined;
  #owned = false;
  #orm: OrmAccessors | undefined;
  #closing: Promise<void> | undefined;
  #startupChecks: Promise<DoctorReport | undefined> | undefined;
  readonly #logger: Logger;
  readonly #tools: AgentTools;

  constructor(config: LakebasePluginConfig) {
    super(config);
    this.config = config;
    this.#logger = pluginLogger(config.logger);
    this.#tools = new AgentTools(config.exposeAsAgentTool, this.#logger);
  }

  override async setup(): Promise<void> {
    const { pool, userPools, developmentFallback, lakebase } = this.config;
    if (lakebase) {
      this.#lakebase = lakebase;
    } else {
      this.#lakebase = appkitErrors(() =>
        createLakebase({
          ...pool,
          userPools,
          developmentFallback,
          logger: pool?.logger ?? this.#logger,
        }),
      );
      this.#owned = true;
    }
    // a PGHOST that is not a host of LAKEBASE_ENDPOINT stops the app here, not at the first query
    await appkitAsync(() => (this.#lakebase as Lakebase).ready());
    this.#logger.info('Lakebase SP pool initialized');
    this.#orm = new OrmAccessors(this.#lakebase, await loadOrmModules(this.#logger));
    this.#logger.info('Lakebase OBO pool manager initialized');
  }

  #parts(): { lakebase: Lakebase; orm: OrmAccessors } {
    if (!this.#lakebase || !this.#orm) {
      throw new InitializationError(
        'The lakebase plugin is not set up yet (createApp() runs its setup())',
      );
    }
    return { lakebase: this.#lakebase, orm: this.#orm };
  }

  /**
   * `AppKit.lakebase`. After shutdown it is still there (as the official plugin's), and its
   * calls reject with `ConnectionError` (503).
   */
  override exports(): LakebaseExports {
    const { lakebase, orm } = this.#parts();
    return servicePrincipalExports(lakebase, orm);
  }

  /** `query` as the service principal (the official plugin's method). */
  // biome-ignore lint/suspicious/noExplicitAny: the default row type of pg, as in the official plugin
  query<R extends pg.QueryResultRow = any>(
    text: string | pg.QueryConfig,
    values?: unknown[],
  ): Promise<pg.QueryResult<R>> {
    return appkitAsync(() => this.#parts().lakebase.query<R>(text, values));
  }

  /** The agent tools: `[query]` with `exposeAsAgentTool`, else none. */
  getAgentTools(): AgentToolDefinition[] {
    return this.#tools.definitions();
  }

  /**
   * Runs an agent tool without a request: refused (`AuthenticationError`) unless development
   * fallback is on. AppKit's agents call `asUser(req).executeAgentTool(...)` instead.
   */
  executeAgentTool(name: string, args: unknown, signal?: AbortSignal): Promise<unknown> {
    return this.#tools.execute(
      () => requestlessScope(appkitErrors(() => this.#parts().lakebase)),
      name,
      args,
      signal,
    );
  }

  /** The agent tools as toolkit entries: `tools(plugins) { return plugins.lakebase.toolkit() }`. */
  toolkit(opts?: ToolkitOptions): Record<string, ToolkitEntry> {
    return this.#tools.toolkit(this.name, opts);
  }

  /**
   * The plugin as the request's user, as AppKit's `asUser` (a proxy of the plugin): AppKit calls
   * `plugin.asUser(req).exports()` and, for agent tools, `.executeAgentTool(...)`. Unlike the
   * base class's context proxy, the pool, clients and tool calls here are bound to the user for
   * good, including calls made after the request's async context is gone.
   *
   * @throws AuthenticationError (AppKit's, 401) at once when the request has no user token or
   * no user, with the official messages (unless the development fallback runs it as the SP).
   */
  override asUser(req: RequestLike): this {
    const { lakebase, orm } = appkitErrors(() => this.#parts());
    let scope: UserScope;
    try {
      scope = lakebase.asUser(req);
    } catch (error) {
      const official =
        error instanceof CoreAuthenticationError ? missingUserError(req, error) : undefined;
      throw official ?? toAppKitError(error);
    }
    const view = userExports(lakebase, orm, scope, req);
    return viewOf(this, {
      exports: () => view,
      query: view.query,
      executeAgentTool: (name: string, args: unknown, signal?: AbortSignal) =>
        this.#tools.execute(() => scope, name, args, signal),
    });
  }

  /**
   * AppKit's server calls this when it starts, after `onPluginsReady` (the official plugin
   * mounts no routes, and neither does this one): the app is set up, so the startup checks
   * start here, never racing the app's own DDL.
   */
  override injectRoutes(router: Router): void {
    super.injectRoutes(router);
    if (this.#lakebase && !this.#closing) void this.startupChecks();
  }

  /**
   * Runs the startup checks once (later calls return the same promise) and logs what they
   * found; resolves to their report, or undefined when `doctor: false` or when the plugin shut
   * down meanwhile. They start by themselves when AppKit's server starts; an app without the
   * server plugin calls this after its setup.
   */
  startupChecks(): Promise<DoctorReport | undefined> {
    if (this.config.doctor === false) {
      this.#startupChecks ??= Promise.resolve(undefined);
    } else if (!this.#startupChecks) {
      let lakebase: Lakebase;
      try {
        lakebase = this.#parts().lakebase;
      } catch (error) {
        return Promise.reject(error);
      }
      this.#logger.debug('Running the startup checks');
      this.#startupChecks = logStartupChecks(lakebase, this.config.pool, this.#logger).catch(
        (error: unknown) => {
          this.#logger.warn(
            'The startup checks could not run: %s',
            error instanceof Error ? error.message : String(error),
          );
          return undefined;
        },
      );
    }
    return this.#startupChecks;
  }

  /**
   * Closes the ORM clients and (unless shared) every pool; called by AppKit on shutdown
   * (through `abortActiveOperations`). Idempotent.
   */
  close(): Promise<void> {
    this.#closing ??= (async () => {
      const orm = this.#orm;
      const lakebase = this.#lakebase;
      if (lakebase && this.#owned) {
        this.#logger.info('Closing Lakebase SP pool');
        this.#logger.info('Closing all Lakebase OBO pools (%d)', lakebase.stats().users.pools);
      }
      await orm?.close();
      if (lakebase && this.#owned) await lakebase.close();
    })();
    return this.#closing;
  }

  override abortActiveOperations(): void {
    super.abortActiveOperations();
    this.close().catch((error: unknown) => {
      this.#logger.error('Error closing Lakebase pools: %O', error);
    });
  }
}

/** `createApp({ plugins: [server(), lakebase({ pool: { max: 10 } })] })` */
export const lakebase = toPlugin(LakebasePlugin);
