/**
 * The import rules of the packages (`pnpm lint` runs them): no import circles anywhere in
 * `packages/*\/src`, and the core's layers import only downwards (see CONTRIBUTING.md):
 *
 *   entries (index, admin, adapter) ─▶ lakebase.ts (facade) ─▶ obo ─▶ agent
 *                                                  │            └──▶ pool ─▶ telemetry ─▶ config ─▶ base
 *                                                  └──▶ admin ─────▶ pool
 *
 * and the local Lakebase's parts meet only where it is composed:
 *
 *   local-lakebase.ts ─▶ project ─▶ postgres | proxy | workspace ─▶ base
 */
const core = 'packages/core/src';
const local = 'packages/local/src';
/** A folder of a package's `src` that may import only itself and `allowed` (of that `src`). */
const folder = (src, label) => (name, allowed) => ({
  name: `${label}-${name}-imports-only-${allowed.join('-') || 'itself'}`,
  comment: `${src}/${name} may import only ${[name, ...allowed].join(', ')}`,
  severity: 'error',
  from: { path: `^${src}/${name}/` },
  to: {
    path: `^${src}/`,
    pathNot: [`^${src}/(${[name, ...allowed].join('|')})/`],
  },
});
const layer = folder(core, 'core');
/** The local Lakebase: its parts (postgres, proxy, workspace) meet only in project/. */
const part = folder(local, 'local');

module.exports = {
  forbidden: [
    {
      name: 'no-circular',
      comment: 'No import circles in any package source',
      severity: 'error',
      from: { path: '^packages/[^/]+/src/' },
      to: { circular: true },
    },
    layer('base', []),
    layer('config', ['base']),
    layer('telemetry', ['config', 'base']),
    layer('pool', ['telemetry', 'config', 'base']),
    layer('agent', ['base']),
    layer('obo', ['pool', 'agent', 'telemetry', 'config', 'base']),
    layer('admin', ['pool', 'config', 'base']),
    part('base', []),
    part('postgres', ['base']),
    part('proxy', ['base']),
    part('workspace', ['base']),
    part('project', ['postgres', 'proxy', 'workspace', 'base']),
    {
      name: 'core-facade-only-from-entries',
      comment: 'Only the entry points (index, admin, adapter) import the facade',
      severity: 'error',
      from: { path: `^${core}/`, pathNot: [`^${core}/(index|admin|adapter)\\.ts$`] },
      to: { path: `^${core}/lakebase\\.ts$` },
    },
    {
      name: 'core-no-entry-imports',
      comment: 'Nothing inside the core imports its entry points',
      severity: 'error',
      from: { path: `^${core}/` },
      to: { path: `^${core}/(index|admin|adapter)\\.ts$` },
    },
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    exclude: { path: '(^|/)(dist|node_modules)/' },
    tsPreCompilationDeps: true,
    tsConfig: { fileName: 'tsconfig.base.json' },
    enhancedResolveOptions: {
      exportsFields: ['exports'],
      conditionNames: ['import', 'require', 'node', 'default', 'types'],
      extensions: ['.ts', '.js', '.mjs', '.cjs', '.d.ts'],
    },
  },
};
