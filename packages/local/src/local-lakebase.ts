/** `startLocalLakebase`: the fake workspace, and the endpoint (Postgres behind the proxy). */
import type { LocalLakebase, LocalLakebaseOptions } from './base/types.js';
import { ProjectRoles } from './postgres/project-roles.js';
import { PostgresRoleStore } from './postgres/role-store.js';
import { openDataDir } from './project/data-dir.js';
import { Endpoint } from './project/endpoint.js';
import { lakebaseHandle } from './project/handle.js';
import { settingsOf } from './project/options.js';
import { Users } from './project/users.js';
import { Workspace } from './workspace/workspace.js';

export async function startLocalLakebase(
  options: LocalLakebaseOptions = {},
): Promise<LocalLakebase> {
  const settings = settingsOf(options);
  const { database, projectOwner: owner, branch, endpoint: endpointPath, tls, log } = settings;
  const dataDir = await openDataDir(options.dataDir);
  const { servicePrincipal, superuserPassword } = dataDir.state;
  let workspace: Workspace | undefined;
  let endpoint: Endpoint | undefined;
  const close = async () => {
    await workspace?.close().catch(() => undefined);
    await endpoint?.close();
    await dataDir.remove().catch(() => undefined);
  };
  try {
    workspace = new Workspace({
      servicePrincipal,
      endpoint: endpointPath,
      branch,
      projectOwner: owner,
      projectPermissions: options.projectPermissions,
      groups: options.groups,
      pgTokenTtlSeconds: settings.tokenTtlSeconds,
      log,
    });
    const { root, temporary: fast } = dataDir;
    const verify = workspace.verifyPgLogin.bind(workspace);
    endpoint = new Endpoint({ root, superuserPassword, fast, database, tls, verify, log });
    await endpoint.start(options.proxyPort ?? 0);
    const roles = new ProjectRoles(endpoint.admin, database, owner);
    await roles.ensureProject();
    await roles.ensureServicePrincipal(servicePrincipal.clientId);
    const users = new Users(roles, servicePrincipal.clientId, settings.grantSetRole);
    const store = new PostgresRoleStore({ branch, database, owner, admin: endpoint.admin });
    await workspace.start(options.apiPort ?? 0, { store, roleChanges: users.roleChanges });
    for (const email of options.users ?? []) await users.add(email);
    return lakebaseHandle({ settings, dataDir, workspace, endpoint, users, close });
  } catch (error) {
    await close();
    throw error;
  }
}
