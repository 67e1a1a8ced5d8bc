/**
 * `plugin.toolkit(opts)`: a tool registry as AppKit's `ToolkitEntry` records, for an agent's
 * `tools(plugins) { return { ...plugins.lakebase.toolkit() } }`. AppKit builds these with an
 * internal helper (`buildToolkitEntries`, not exported), so this follows its documented
 * contract: key `${pluginName}.${name}` unless `prefix` (`''` drops it) or `rename` says
 * otherwise, `only` / `except` filter by local name. The entries carry the plugin and local
 * name, so the agents plugin dispatches them through `PluginContext.executeTool`, that is
 * through `plugin.asUser(req).executeAgentTool(...)`.
 */
import {
  type ToolkitEntry,
  type ToolkitOptions,
  type ToolRegistry,
  toolsFromRegistry,
} from '@databricks/appkit/beta';

/** The toolkit key of a local tool name, or null when the options filter it out. */
function toolkitKey(localName: string, pluginName: string, opts: ToolkitOptions): string | null {
  if (opts.only && !opts.only.includes(localName)) return null;
  if (opts.except?.includes(localName)) return null;
  const renamed = opts.rename?.[localName];
  if (typeof renamed === 'string' && renamed.length > 0) return renamed;
  return `${opts.prefix ?? `${pluginName}.`}${localName}`;
}

export function toolkitEntries(
  pluginName: string,
  registry: ToolRegistry,
  opts: ToolkitOptions = {},
): Record<string, ToolkitEntry> {
  const out: Record<string, ToolkitEntry> = {};
  for (const def of toolsFromRegistry(registry)) {
    const key = toolkitKey(def.name, pluginName, opts);
    if (key === null) continue;
    const entry = registry[def.name];
    out[key] = {
      __toolkitRef: true,
      pluginName,
      localName: def.name,
      def: { ...def, name: key },
      annotations: entry?.annotations,
      autoInheritable: entry?.autoInheritable,
    };
  }
  return out;
}
