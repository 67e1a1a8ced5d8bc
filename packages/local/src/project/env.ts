/** The environment an application needs to reach the local Lakebase, as the SP or as a user. */
import type { LocalLakebaseEnv, LocalTls, ServicePrincipal } from '../base/types.js';

export interface EnvParts {
  host: string;
  servicePrincipal: ServicePrincipal;
  proxyPort: number;
  database: string;
  endpoint: string;
  tls: LocalTls | undefined;
  /** The main endpoint's pooled host, with a pooler. */
  pooled?: { host: string; port: number };
  /** Apps on this env use the pooled host (`LAKEBASE_POOLER=true`). */
  appsUsePooler?: boolean;
}

/** With a pooler, `lb.env` also names the pooled host and its port. */
export const POOLER_HOST_ENV = 'LAKEBASE_POOLER_HOST';
export const POOLER_PORT_ENV = 'LAKEBASE_POOLER_PORT';

export function lakebaseEnv(parts: EnvParts): LocalLakebaseEnv {
  const { host, servicePrincipal: sp, proxyPort, database, endpoint, tls, pooled } = parts;
  const usePooler: Record<string, string> =
    pooled && parts.appsUsePooler ? { LAKEBASE_POOLER: 'true' } : {};
  return {
    DATABRICKS_HOST: host,
    DATABRICKS_CLIENT_ID: sp.clientId,
    DATABRICKS_CLIENT_SECRET: sp.clientSecret,
    PGHOST: '127.0.0.1',
    PGPORT: String(proxyPort),
    PGDATABASE: database,
    PGUSER: sp.clientId,
    PGSSLMODE: tls ? 'require' : 'disable',
    ...(tls ? { PGSSLROOTCERT: tls.caFile } : {}),
    LAKEBASE_ENDPOINT: endpoint,
    ...(pooled ? { [POOLER_HOST_ENV]: pooled.host, [POOLER_PORT_ENV]: String(pooled.port) } : {}),
    ...usePooler,
  };
}

/** `env` pointed at another host of the project (a pooled host, a replica, a branch). */
export function hostEnv(
  env: Record<string, string>,
  target: { host: string; port: number; endpoint: string },
): Record<string, string> {
  const {
    [POOLER_HOST_ENV]: _host,
    [POOLER_PORT_ENV]: _port,
    LAKEBASE_POOLER: _use,
    ...rest
  } = env;
  return {
    ...rest,
    PGHOST: target.host,
    PGPORT: String(target.port),
    LAKEBASE_ENDPOINT: target.endpoint,
  };
}

/** `env` for a workspace user: `DATABRICKS_TOKEN`, `PGUSER` the email, no client id/secret. */
export function userEnv(
  env: LocalLakebaseEnv,
  email: string,
  accessToken: string,
): Record<string, string> {
  const { DATABRICKS_CLIENT_ID: _id, DATABRICKS_CLIENT_SECRET: _secret, ...rest } = env;
  return { ...rest, DATABRICKS_TOKEN: accessToken, PGUSER: email };
}
