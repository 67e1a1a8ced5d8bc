/** `LocalLakebaseOptions` with every default filled in. */
import type { LocalLakebaseOptions, Log } from '../base/types.js';

export const DEFAULT_DATABASE = 'databricks_postgres';
export const DEFAULT_ENDPOINT = 'projects/local/branches/main/endpoints/primary';
export const DEFAULT_PROJECT_OWNER = 'owner@example.com';
export const DEFAULT_TOKEN_TTL_SECONDS = 3600;

export interface Settings {
  database: string;
  endpoint: string;
  /** `projects/<p>/branches/<b>`: the endpoint's branch. */
  branch: string;
  projectOwner: string;
  tokenTtlSeconds: number;
  tls: boolean;
  grantSetRole: boolean;
  log: Log;
}

export function settingsOf(options: LocalLakebaseOptions): Settings {
  const endpoint = options.endpoint ?? DEFAULT_ENDPOINT;
  return {
    database: options.database ?? DEFAULT_DATABASE,
    endpoint,
    branch: endpoint.split('/endpoints/')[0]!,
    projectOwner: options.projectOwner ?? DEFAULT_PROJECT_OWNER,
    tokenTtlSeconds: options.tokenTtlSeconds ?? DEFAULT_TOKEN_TTL_SECONDS,
    tls: options.tls !== false,
    grantSetRole: options.grantSetRole === true,
    log: options.log ?? (() => undefined),
  };
}
