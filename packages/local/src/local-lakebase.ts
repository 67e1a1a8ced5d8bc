/** `startLocalLakebase`: wires Postgres, the proxy and the fake workspace together. */
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { createLocalCertificates } from './certificates.js';
import { installExtensionFiles } from './databricks-auth.js';
import { forwardedUserHeaders } from './dev-env.js';
import { Directory } from './directory.js';
import { FaultState } from './faults.js';
import { assertEmail } from './identities.js';
import { PostgresServer } from './postgres.js';
import { WireProxy } from './proxy.js';
import { RoleCatalog } from './role-catalog.js';
import {
  ensureProject,
  ensureServicePrincipalRole,
  ensureUserRole,
  grantSetRole,
} from './roles.js';
import { RolesApi } from './roles-api.js';
import { SerialQueue } from './serial-queue.js';
import { loadOrCreateState, newState } from './state-file.js';
import { StatsRecorder } from './stats.js';
import { rfc3339, TokenStore } from './tokens.js';
import type {
  LocalFaults,
  LocalLakebase,
  LocalLakebaseEnv,
  LocalLakebaseOptions,
  PgCredential,
} from './types.js';
import { ACCESS_TOKEN_TTL_SECONDS, WorkspaceApi } from './workspace-api.js';

const DEFAULT_DATABASE = 'databricks_postgres';
const DEFAULT_ENDPOINT = 'projects/local/branches/main/endpoints/primary';
const DEFAULT_PROJECT_OWNER = 'owner@example.com';

export async function startLocalLakebase(
  options: LocalLakebaseOptions = {},
): Promise<LocalLakebase> {
  const log = options.log ?? (() => undefined);
  const database = options.database ?? DEFAULT_DATABASE;
  const endpoint = options.endpoint ?? DEFAULT_ENDPOINT;
  let tokenTtl = options.tokenTtlSeconds ?? 3600;

  const temporary = !options.dataDir;
  const root = options.dataDir
    ? path.resolve(options.dataDir)
    : await fs.mkdtemp(path.join(os.tmpdir(), 'lakebase-local-'));
  await fs.mkdir(root, { recursive: true });
  // The postgres OS user must be able to traverse into the data dir.
  await fs.chmod(root, 0o755);
  const state = temporary ? newState() : await loadOrCreateState(root);
  const sp = state.servicePrincipal;
  const directory = new Directory(
    options.projectOwner ?? DEFAULT_PROJECT_OWNER,
    options.projectPermissions,
  );
  for (const [group, members] of Object.entries(options.groups ?? {})) {
    directory.setGroup(group, members);
  }
  const owner = directory.projectOwner;
  const branch = endpoint.split('/endpoints/')[0]!;
  const roleChanges = new SerialQueue();

  const tokens = new TokenStore();
  const stats = new StatsRecorder();
  const faults = new FaultState();
  const postgres = new PostgresServer({
    root,
    superuserPassword: state.superuserPassword,
    fast: temporary,
    log,
    settings: await installExtensionFiles(root),
  });
  let backendReady: Promise<void> = Promise.resolve();
  let pool: pg.Pool | undefined;
  let proxy: WireProxy | undefined;
  let api: WorkspaceApi | undefined;
  let certificates: Awaited<ReturnType<typeof createLocalCertificates>> | undefined;

  const cleanup = async () => {
    await proxy?.close().catch(() => undefined);
    await api?.close().catch(() => undefined);
    await pool?.end().catch(() => undefined);
    await postgres.close().catch(() => undefined);
    if (temporary) await fs.rm(root, { recursive: true, force: true }).catch(() => undefined);
  };

  try {
    if (options.tls !== false) certificates = await createLocalCertificates(root);
    await postgres.start();
    await ensureProject(postgres, database, owner);
    await ensureServicePrincipalRole(postgres, database, owner, sp.clientId);
    pool = new pg.Pool({ ...postgres.clientConfig(database), max: 4 });
    pool.on('error', () => undefined);

    proxy = new WireProxy({
      backendSocket: async () => {
        await backendReady;
        return postgres.socketPath;
      },
      // A member of a workspace group may log in to the group's role with their own token.
      verify: (user, password) => {
        const identity = tokens.verify(password, 'pg');
        return identity === user || (!!identity && directory.isGroupMember(user, identity));
      },
      terminateBackends: async (pids) => {
        await pool!.query('select pg_terminate_backend(pid) from unnest($1::int[]) as pid', [pids]);
      },
      stats,
      faults,
      log,
      tls: certificates && { key: certificates.key, cert: certificates.cert },
    });
    const superuserSql = (text: string, values?: unknown[]) => pool!.query(text, values);
    const rolesApi = new RolesApi({
      branch,
      database,
      directory,
      catalog: new RoleCatalog(branch, superuserSql, (text, values) =>
        postgres.query('postgres', text, values),
      ),
      sql: superuserSql,
      roleChanges,
      log,
    });
    api = new WorkspaceApi({
      tokens,
      servicePrincipal: sp,
      endpoint,
      pgTokenTtlSeconds: () => tokenTtl,
      faults,
      stats,
      log,
      directory,
      rolesApi,
    });
    await proxy.start(options.proxyPort ?? 0);
    await api.start(options.apiPort ?? 0);
  } catch (error) {
    await cleanup();
    throw error;
  }
  const livePool = pool;
  const liveProxy = proxy;
  const liveApi = api;

  const addingUsers = new Map<string, Promise<void>>();
  const knownUsers = new Set<string>();
  const addUser = async (email: string): Promise<void> => {
    assertEmail(email);
    if (knownUsers.has(email)) return;
    let pending = addingUsers.get(email);
    if (!pending) {
      // One role change at a time: concurrent GRANT CONNECTs update the same pg_database row
      // and fail with "tuple concurrently updated".
      const created = roleChanges.run(async () => {
        await ensureUserRole(postgres, database, owner, email);
        if (options.grantSetRole) await grantSetRole(postgres, database, sp.clientId, email);
      });
      pending = created.then(
        () => {
          knownUsers.add(email);
          addingUsers.delete(email);
        },
        (error) => {
          addingUsers.delete(email);
          throw error;
        },
      );
      addingUsers.set(email, pending);
    }
    await pending;
  };

  try {
    for (const email of options.users ?? []) await addUser(email);
  } catch (error) {
    await cleanup();
    throw error;
  }

  const host = liveApi.host;
  const env: LocalLakebaseEnv = {
    DATABRICKS_HOST: host,
    DATABRICKS_CLIENT_ID: sp.clientId,
    DATABRICKS_CLIENT_SECRET: sp.clientSecret,
    PGHOST: '127.0.0.1',
    PGPORT: String(liveProxy.port),
    PGDATABASE: database,
    PGUSER: sp.clientId,
    PGSSLMODE: certificates ? 'require' : 'disable',
    ...(certificates ? { PGSSLROOTCERT: certificates.caFile } : {}),
    LAKEBASE_ENDPOINT: endpoint,
  };
  const tlsInfo = certificates && { caFile: certificates.caFile, caPem: certificates.caPem };

  const userToken = (email: string, opts: { ttlSeconds?: number } = {}): string =>
    tokens.mint(email, 'access', opts.ttlSeconds ?? ACCESS_TOKEN_TTL_SECONDS).token;

  const mintPgToken = (identity: string, opts: { ttlSeconds?: number } = {}): PgCredential => {
    const minted = tokens.mint(identity, 'pg', opts.ttlSeconds ?? tokenTtl);
    return { token: minted.token, expire_time: rfc3339(minted.expiresAt) };
  };

  const envFor = (email: string, opts: { ttlSeconds?: number } = {}): Record<string, string> => {
    assertEmail(email);
    const { DATABRICKS_CLIENT_ID: _id, DATABRICKS_CLIENT_SECRET: _secret, ...rest } = env;
    return { ...rest, DATABRICKS_TOKEN: userToken(email, opts), PGUSER: email };
  };

  const restartPostgres = async (): Promise<void> => {
    let done!: () => void;
    backendReady = new Promise<void>((resolve) => {
      done = resolve;
    });
    try {
      await postgres.restart();
    } finally {
      done();
    }
  };

  const faultSwitches: LocalFaults = {
    credentials: (fault) => faults.setCredentialFault(fault),
    credentialLatency: (ms) => faults.setLatency(ms),
    credentialMalformed: (mode) => {
      faults.malformed = mode;
    },
    revoke: (identity) => {
      const count = tokens.revoke(identity, 'pg');
      log(`faults: revoked ${count} Postgres token(s) of ${identity}`);
    },
    setTokenTtl: (seconds) => {
      tokenTtl = seconds;
    },
    suspend: (opts = {}) => {
      faults.suspended = { mode: opts.mode ?? 'delay' };
      log(`faults: suspended (${faults.suspended.mode})`);
      return liveProxy.terminateAll();
    },
    wake: () => {
      faults.wake();
      log('faults: woken');
    },
    restartPostgres,
    reset: () => {
      faults.reset();
      tokenTtl = options.tokenTtlSeconds ?? 3600;
    },
  };

  let stopping: Promise<void> | undefined;
  return {
    env,
    endpoint,
    branch,
    database,
    projectOwner: owner,
    servicePrincipal: { ...sp },
    host,
    dataDir: root,
    tls: tlsInfo,
    proxyPort: liveProxy.port,
    apiPort: liveApi.port,
    get postgresPort() {
      return postgres.port;
    },
    addUser,
    grantSetRole: (role, grant = true) =>
      roleChanges.run(() => grantSetRole(postgres, database, sp.clientId, role, grant)),
    addGroup: (name, members) => directory.setGroup(name, members),
    envFor,
    userToken,
    userHeaders: async (email) => {
      await addUser(email);
      return forwardedUserHeaders(email, userToken(email));
    },
    mintPgToken,
    sql: async (text, values) => (await livePool.query(text, values)).rows,
    faults: faultSwitches,
    stats: () => stats.snapshot(),
    resetStats: () => stats.reset(),
    stop: () => {
      if (!stopping) {
        faults.reset();
        stopping = cleanup();
      }
      return stopping;
    },
  };
}
