/** The `LocalLakebase` a caller gets: each member delegates to the part that owns it. */
import { assertEmail, forwardedUserHeaders } from '../base/identities.js';
import type { LocalLakebase } from '../base/types.js';
import { createPasswordRole } from '../postgres/password-roles.js';
import { currentLsn } from '../postgres/replication.js';
import type { Workspace } from '../workspace/workspace.js';
import { branchesHandle } from './branches/branches-handle.js';
import type { DataDir } from './data-dir.js';
import { lakebaseEnv, userEnv } from './env.js';
import { faultSwitches } from './faults.js';
import type { Settings } from './options.js';
import type { Project } from './project.js';
import { poolerHandle } from './scale/pooler-handle.js';
import { replicaHandle } from './scale/replica-handle.js';
import { Counters } from './stats.js';
import type { Users } from './users.js';

export interface LakebaseParts {
  settings: Settings;
  dataDir: DataDir;
  workspace: Workspace;
  project: Project;
  users: Users;
  /** Closes every part (idempotence is the handle's). */
  close(): Promise<void>;
}

export function lakebaseHandle(parts: LakebaseParts): LocalLakebase {
  const { settings, dataDir, workspace, project, users } = parts;
  const sp = workspace.servicePrincipal;
  const main = project.mainEndpoint;
  const admin = project.main.admin;
  const tls = project.doors.tls;
  const env = lakebaseEnv({
    host: workspace.host,
    servicePrincipal: sp,
    proxyPort: main.direct.port,
    database: settings.database,
    endpoint: settings.endpoint,
    tls,
    pooled: main.pooled,
    appsUsePooler: settings.pooler?.appsUsePooler,
  });
  const faults = faultSwitches(workspace, project, settings.log);
  const counters = new Counters(main.stats, workspace);
  const userToken = (email: string, options: { ttlSeconds?: number } = {}) =>
    workspace.accessToken(email, options.ttlSeconds);
  let stopping: Promise<void> | undefined;
  return {
    env,
    endpoint: settings.endpoint,
    branch: settings.branch,
    database: settings.database,
    projectOwner: settings.projectOwner,
    servicePrincipal: { ...sp },
    host: workspace.host,
    dataDir: dataDir.root,
    tls,
    proxyPort: main.direct.port,
    apiPort: workspace.port,
    postgresPort: project.main.server.port,
    addUser: (email) => users.add(email),
    grantSetRole: (role, grant, member) => users.grantSetRole(role, grant, member),
    addGroup: (name, members) => workspace.directory.setGroup(name, members),
    envFor: (email, options = {}) => {
      assertEmail(email);
      return userEnv(env, email, userToken(email, options));
    },
    userToken,
    userHeaders: async (email) => {
      await users.add(email);
      return forwardedUserHeaders(email, userToken(email));
    },
    mintPgToken: (identity, options = {}) => workspace.mintPgToken(identity, options.ttlSeconds),
    sql: async (text, values) => (await admin.sql(text, values)).rows,
    faults,
    replicas: project.replicas.map((replica) =>
      replicaHandle(replica, project.main, project.replicaLag, env),
    ),
    pooler: poolerHandle(main, project.poolerSwitch, env),
    branches: branchesHandle(workspace.branches, project.branches, project.endpoints, env),
    createPasswordRole: (name) =>
      users.roleChanges.run(() =>
        createPasswordRole(admin, settings.database, settings.projectOwner, name),
      ),
    currentLsn: () => currentLsn(admin.sql),
    // The main endpoint comes first: where every door shares 127.0.0.1, that host is its.
    portOf: (host) =>
      project.endpoints
        .all()
        .map((endpoint) => endpoint.record().ports[host])
        .find((port) => port !== undefined),
    stats: () => counters.snapshot(),
    resetStats: () => counters.reset(),
    stop: () => {
      if (!stopping) {
        faults.reset();
        stopping = parts.close();
      }
      return stopping;
    },
  };
}
