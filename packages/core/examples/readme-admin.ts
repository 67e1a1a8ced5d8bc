import { createLakebase } from '@lakebase-kit/core';
import {
  addRole,
  createWorkspaceClient,
  grantSchemaAccess,
  listRoles,
} from '@lakebase-kit/core/admin';

// as the project owner (CAN_MANAGE on the project), e.g. DATABRICKS_TOKEN in the environment
const lakebase = createLakebase();
const target = {
  db: lakebase,
  workspaceClient: createWorkspaceClient(),
  branch: process.env.LAKEBASE_ENDPOINT, // an endpoint or projects/<p>/branches/<b>
};
await addRole(target, 'alice@example.com'); // { via: 'roles-api', created: true, ... }
// the guide's grants (ALL on the schema and its objects): for a developer; the app's users get
// the RLS recipe's grants (docs/rls.md) from the app
await grantSchemaAccess(target, 'dev@example.com', { schema: 'app' });
await grantSchemaAccess(target, 'data-team', { schema: 'app', readOnly: true, type: 'GROUP' });
export const { roles } = await listRoles(target);
await lakebase.close();
