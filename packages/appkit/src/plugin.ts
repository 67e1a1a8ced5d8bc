/**
 * `lakebase()` for `@databricks/appkit`: a real AppKit plugin (`extends Plugin`, `toPlugin`)
 * built on one `Lakebase` of `@lakebase-kit/core`. Same manifest, config, exports and agent
 * tool as the official plugin; `asUser(req)` returns pools, ORM clients and the agent tool,
 * all of which really run as the user.
 */

import type { BasePluginConfig } from '@databricks/appkit';
import { Plugin, toPlugin } from '@databricks/appkit';
import type {
  AgentToolDefinition,
  ToolkitEntry,
  ToolkitOptions,
  ToolProvider,
} from '@databricks/appkit/beta';
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
  type UserScope,
} from '@lakebase-kit/core';
import type pg from 'pg';
import { AgentTools, requestlessScope } from './agent-tools.js';
import { type LakebaseExports, servicePrincipalExports, userExports } from './exports.js';
import { appkitStyleLogger } from './logger.js';
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
  /** A logger (AppKit's, pino, console...) or console levels; default AppKit-style lines. */
  logger?: Logger | LoggerConfig;
  /** Use this `Lakebase` (shared with other code; the plugin never closes it). */
  lakebase?: Lakebase;
  /** Run `lakebase-kit doctor`'s checks at startup and log problems as warnings (default true). */
  doctor?: boolean;
  /**
   * Expose a `query` tool to AppKit agents (off by default). It runs as the requesting user;
   * read-only unless `readOnly: false` (then annotated destructive: agents ask for approval).
   */
  exposeAsAgentTool?: LakebaseExposeAsAgentTool;
}

/** What `plugin.asUser(req)` returns: the user's exports and the agent tool run as the user. */
export interface LakebaseUserView extends ToolProvider {
  exports(): LakebaseExports;
  toolkit(opts?: ToolkitOptions): Record<string, ToolkitEntry>;
}

export class LakebasePlugin extends Plugin<LakebasePluginConfig> implements ToolProvider {
  static manifest = manifest;

  #lakebase: Lakebase | undefined;
  #owned = false;
  #orm: OrmAccessors | undefined;
  #closing: Promise<void> | undefined;
  #shutDown = false;
  #startupChecks: Promise<unknown> | undefined;
  readonly #logger: Logger;
  readonly #tools: AgentTools;

  constructor(config: LakebasePluginConfig) {
    super(config);
    this.config = config;
    this.#logger = config.logger ? resolveLogger(config.logger) : appkitStyleLogger();
    this.#tools = new AgentTools(config.exposeAsAgentTool, this.#logger);
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

  /** `query` as the service principal (the official plugin's method). */
  // biome-ignore lint/suspicious/noExplicitAny: the default row type of pg, as in the official plugin
  query<R extends pg.QueryResultRow = any>(
    text: string | pg.QueryConfig,
    values?: unknown[],
  ): Promise<pg.QueryResult<R>> {
    return this.#ready().lakebase.query<R>(text, values);
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
    return this.#tools.execute(() => requestlessScope(this.#ready().lakebase), name, args, signal);
  }

  /** The agent tools as toolkit entries: `tools(plugins) { return plugins.lakebase.toolkit() }`. */
  toolkit(opts?: ToolkitOptions): Record<string, ToolkitEntry> {
    return this.#tools.toolkit(this.name, opts);
  }

  /**
   * The user's view of the plugin. AppKit calls `plugin.asUser(req).exports()` and, for agent
   * tools, `plugin.asUser(req).executeAgentTool(...)`; unlike the base class's context proxy,
   * the pool, clients and tool calls here are bound to the user for good, including calls made
   * after the request's async context is gone.
   */
  // @ts-expect-error AppKit types asUser as returning the plugin; AppKit calls exports() and executeAgentTool() on it.
  override asUser(req: RequestLike): LakebaseUserView {
    const { lakebase, orm } = this.#ready();
    const scope: UserScope = lakebase.asUser(req);
    const view = userExports(lakebase, orm, scope, req);
    return {
      exports: () => view,
      getAgentTools: () => this.getAgentTools(),
      toolkit: (opts) => this.toolkit(opts),
      executeAgentTool: (name, args, signal) =>
        this.#tools.execute(() => scope, name, args, signal),
    };
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
