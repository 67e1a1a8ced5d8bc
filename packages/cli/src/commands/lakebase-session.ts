/**
 * What `roles` and `doctor` share: a `Lakebase` of `@lakebase-kit/core` for the current
 * Databricks identity (the same flags and environment as `env`), with the workspace client the
 * roles API needs.
 */
import {
  createLakebase,
  type LakebasePoolConfig,
  type SslMode,
  silentLogger,
} from '@lakebase-kit/core';
import {
  createWorkspaceClient,
  type ProvisioningTarget,
  type Queryable,
} from '@lakebase-kit/core/admin';
import type { TargetFlags } from './env.js';
import { actingIdentity } from './identity.js';
import { resolveEndpoint } from './token.js';

type WorkspaceClient = ReturnType<typeof createWorkspaceClient>;

export interface LakebaseSession {
  /** The pool options the flags and environment gave. */
  options: Partial<LakebasePoolConfig>;
  env: NodeJS.ProcessEnv;
  workspaceClient: WorkspaceClient;
  /** A connection as the current identity; a failed configuration makes every query fail. */
  db: Queryable;
  target: ProvisioningTarget;
  close(): Promise<void>;
}

/** Opens a session; with `lenient`, a bad configuration is kept for `db` to report. */
export function openSession(
  flags: TargetFlags,
  env: NodeJS.ProcessEnv,
  lenient = false,
): LakebaseSession {
  // --profile / --user / a DATABRICKS_TOKEN beside SP credentials: as `env` and `exec` take them.
  const acting = actingIdentity(flags, env);
  const sdkEnv = acting.env;
  const workspaceClient = createWorkspaceClient(sdkEnv);
  let endpoint: string | undefined;
  try {
    endpoint = resolveEndpoint(flags, sdkEnv);
  } catch (error) {
    if (!lenient) throw error;
  }
  const options: Partial<LakebasePoolConfig> = {
    endpoint,
    host: flags.host,
    port: flags.port === undefined ? undefined : (flags.port as unknown as number),
    database: flags.database,
    user: acting.user,
    sslMode: flags.sslmode as SslMode | undefined,
    workspaceClient,
    telemetry: false,
    logger: silentLogger,
    max: 2,
  };
  let db: Queryable;
  let close = async (): Promise<void> => undefined;
  try {
    const lakebase = createLakebase({ ...options, env: sdkEnv, developmentFallback: false });
    db = lakebase;
    close = () => lakebase.close();
  } catch (error) {
    if (!lenient) throw error;
    db = { query: () => Promise.reject(error) };
  }
  return {
    options,
    env: sdkEnv,
    workspaceClient,
    db,
    target: { db, workspaceClient, branch: endpoint },
    close,
  };
}
