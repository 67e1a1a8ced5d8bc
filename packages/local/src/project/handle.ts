/** The `LocalLakebase` a caller gets: each member delegates to the part that owns it. */
import { assertEmail, forwardedUserHeaders } from '../base/identities.js';
import type { LocalLakebase } from '../base/types.js';
import type { Workspace } from '../workspace/workspace.js';
import type { DataDir } from './data-dir.js';
import type { Endpoint } from './endpoint.js';
import { lakebaseEnv, userEnv } from './env.js';
import { faultSwitches } from './faults.js';
import type { Settings } from './options.js';
import { Counters } from './stats.js';
import type { Users } from './users.js';

export interface LakebaseParts {
  settings: Settings;
  dataDir: DataDir;
  workspace: Workspace;
  endpoint: Endpoint;
  users: Users;
  /** Closes every part (idempotence is the handle's). */
  close(): Promise<void>;
}

export function lakebaseHandle(parts: LakebaseParts): LocalLakebase {
  const { settings, dataDir, workspace, endpoint, users } = parts;
  const sp = workspace.servicePrincipal;
  const env = lakebaseEnv({
    host: workspace.host,
    servicePrincipal: sp,
    proxyPort: endpoint.proxyPort,
    database: settings.database,
    endpoint: settings.endpoint,
    tls: endpoint.tls,
  });
  const faults = faultSwitches(workspace, endpoint, settings.log);
  const counters = new Counters(endpoint.stats, workspace);
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
    tls: endpoint.tls,
    proxyPort: endpoint.proxyPort,
    apiPort: workspace.port,
    postgresPort: endpoint.postgresPort,
    addUser: (email) => users.add(email),
    grantSetRole: (role, grant) => users.grantSetRole(role, grant),
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
    sql: async (text, values) => (await endpoint.admin.sql(text, values)).rows,
    faults,
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
