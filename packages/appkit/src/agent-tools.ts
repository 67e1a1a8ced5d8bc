/**
 * The plugin's agent tools (an AppKit `ToolProvider`): empty unless `exposeAsAgentTool` is set,
 * then the one `query` tool. The definitions are fixed at construction (AppKit lists them before
 * setup); each execution builds the registry for the scope it runs on, so a call runs as the
 * user whose `asUser(req)` it came through and nothing is kept per call.
 */

import { AuthenticationError } from '@databricks/appkit';
import {
  type AgentToolDefinition,
  executeFromRegistry,
  type ToolkitEntry,
  type ToolkitOptions,
  type ToolRegistry,
  toolsFromRegistry,
} from '@databricks/appkit/beta';
import {
  AuthenticationError as CoreAuthenticationError,
  type Lakebase,
  type Logger,
  type UserScope,
} from '@lakebase-kit/core';
import { toAppKitError } from './errors.js';
import {
  QUERY_TOOL,
  type QueryToolOptions,
  queryTool,
  queryToolOptions,
  queryToolWarning,
} from './query-tool.js';
import { toolkitEntries } from './toolkit.js';

const listingOnly = (): UserScope => {
  throw new Error('The listing registry does not run tools');
};

export class AgentTools {
  readonly #options: QueryToolOptions | undefined;
  readonly #listing: ToolRegistry;

  /**
   * @throws ConfigurationError (AppKit's) when `exposeAsAgentTool` is malformed. (Any `userPools.mode`
   * works: core runs an agent's statement on a login as the user in every mode.)
   */
  constructor(exposeAsAgentTool: unknown, logger: Logger) {
    this.#options = queryToolOptions(exposeAsAgentTool);
    if (this.#options) logger.warn(queryToolWarning(this.#options));
    this.#listing = this.#registry(listingOnly);
  }

  definitions(): AgentToolDefinition[] {
    return toolsFromRegistry(this.#listing);
  }

  toolkit(pluginName: string, opts?: ToolkitOptions): Record<string, ToolkitEntry> {
    return toolkitEntries(pluginName, this.#listing, opts);
  }

  /**
   * Runs tool `name` on `scope()`. Invalid arguments answer AppKit's LLM-readable message (as
   * `executeFromRegistry` does); refusals and database errors reject.
   */
  execute(
    scope: () => UserScope,
    name: string,
    args: unknown,
    signal?: AbortSignal,
  ): Promise<unknown> {
    return executeFromRegistry(this.#registry(scope), name, args, signal);
  }

  #registry(scope: () => UserScope): ToolRegistry {
    return this.#options ? { [QUERY_TOOL]: queryTool(this.#options, scope) } : {};
  }
}

/**
 * The scope of a tool call that came without a request (`plugin.executeAgentTool(...)`
 * directly, or AppKit's standalone `runAgent`): the development fallback to the service
 * principal when it is on, otherwise AppKit's `AuthenticationError` (401), never the SP
 * silently (the official tool runs such a call as the service principal).
 */
export function requestlessScope(lakebase: Lakebase): UserScope {
  try {
    return lakebase.asUser({ headers: {} });
  } catch (error) {
    if (!(error instanceof CoreAuthenticationError)) throw toAppKitError(error);
    throw new AuthenticationError(
      'The lakebase agent tool runs as the requesting user: call it through asUser(req).executeAgentTool() (AppKit agents do); without a request it runs only with developmentFallback on',
      { cause: error, context: { lakebaseCode: error.code } },
    );
  }
}
