/** The environment an application needs to reach the local Lakebase, as the SP or as a user. */
import type { LocalLakebaseEnv, LocalTls, ServicePrincipal } from '../base/types.js';

export interface EnvParts {
  host: string;
  servicePrincipal: ServicePrincipal;
  proxyPort: number;
  database: string;
  endpoint: string;
  tls: LocalTls | undefined;
}

export function lakebaseEnv(parts: EnvParts): LocalLakebaseEnv {
  const { host, servicePrincipal: sp, proxyPort, database, endpoint, tls } = parts;
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
