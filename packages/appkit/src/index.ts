/**
 * @lakebase-kit/appkit — a drop-in `lakebase()` plugin for `@databricks/appkit`.
 * Change `import { lakebase } from '@databricks/appkit'` to `from '@lakebase-kit/appkit'`.
 */
export type { LakebaseExports } from './exports.js';
export { manifest } from './manifest.js';
export type { DrizzleDb, KyselyHandle, PrismaHandle } from './orm.js';
export { LakebasePlugin, type LakebasePluginConfig, lakebase } from './plugin.js';
export type { LakebaseExposeAsAgentTool, QueryToolAnswer } from './query-tool.js';
export { ReadOnlySqlViolation } from './read-only-sql.js';
