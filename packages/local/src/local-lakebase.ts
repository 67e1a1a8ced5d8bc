/** `startLocalLakebase`: the fake workspace, and the project's computes behind their doors. */
import type { LocalLakebase, LocalLakebaseOptions } from './base/types.js';
import { findPgBouncer } from './postgres/pgbouncer/binary.js';
import { ProjectRoles } from './postgres/project-roles.js';
import { PostgresRoleStore } from './postgres/role-store.js';
import { openDataDir } from './project/data-dir.js';
import { lakebaseHandle } from './project/handle.js';
import { settingsOf } from './project/options.js';
import { Project } from './project/project.js';
import { Users } from './project/users.js';
import { Workspace } from './workspace/workspace.js';

export async function startLocalLakebase(
  options: LocalLakebaseOptions = {},
): Promise<LocalLakebase> {
  const settings = settingsOf(options);
  const { database, projectOwner: owner, branch, endpoint: endpointPath, log } = settings;
  // Before anything starts: a pooler without PgBouncer fails at once.
  const pgbouncer = settings.pooler ? await findPgBouncer() : undefined;
  const dataDir = await openDataDir(options.dataDir);
  const { servicePrincipal } = dataDir.state;
  let workspace: Workspace | undefined;
  let project: Project | undefined;
  const close = async () => {
    await workspace?.close().catch(() => undefined);
    await project?.close();
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
    const token = workspace.verifyPgLogin.bind(workspace);
    const proxyPort = options.proxyPort ?? 0;
    project = await Project.prepare({ settings, dataDir, token, proxyPort, pgbouncer });
    await project.start();
    const admin = project.main.admin;
    const roles = new ProjectRoles(admin, database, owner);
    await roles.ensureProject();
    await roles.ensureServicePrincipal(servicePrincipal.clientId);
    await project.startHistory();
    const users = new Users(roles, servicePrincipal.clientId, settings.grantSetRole);
    const store = new PostgresRoleStore({ branch, database, owner, admin });
    await workspace.start(options.apiPort ?? 0, {
      roles: { store, roleChanges: users.roleChanges },
      endpoints: project.endpoints,
      branches: project.branches,
    });
    for (const email of options.users ?? []) await users.add(email);
    await project.startReplicas();
    return lakebaseHandle({ settings, dataDir, workspace, project, users, close });
  } catch (error) {
    await close();
    throw error;
  }
}
