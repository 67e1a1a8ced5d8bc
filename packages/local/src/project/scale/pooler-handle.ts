/** `lb.pooler`: the main endpoint's pooled host, its env, the OAuth switch and PgBouncer's pools. */
import type { HostEnv, LocalPooler, PoolerPool } from '../../base/scale-types.js';
import { SUPERUSER } from '../../postgres/server.js';
import type { LocalEndpoint } from '../compute/local-endpoint.js';
import { hostEnv } from '../env.js';

/** Whether the pooled doors accept OAuth tokens: one switch for all of them. */
export class PoolerSwitch {
  acceptsOAuth: boolean;

  constructor(oauth: boolean) {
    this.acceptsOAuth = oauth;
  }
}

export function poolerHandle(
  endpoint: LocalEndpoint,
  oauth: PoolerSwitch,
  baseEnv: HostEnv,
): LocalPooler | undefined {
  // PgBouncer's own user lookups (auth_query) keep a pool of the superuser's: not the app's.
  const superuser = SUPERUSER;
  const pooled = endpoint.pooled;
  const pgbouncer = endpoint.pgbouncer;
  if (!pooled || !pgbouncer) return undefined;
  return {
    host: pooled.host,
    port: pooled.port,
    env: hostEnv(baseEnv, { ...pooled, endpoint: endpoint.name }),
    get acceptsOAuth() {
      return oauth.acceptsOAuth;
    },
    acceptOAuth: (on) => {
      oauth.acceptsOAuth = on;
    },
    pools: async (): Promise<PoolerPool[]> =>
      (await pgbouncer.pools())
        .filter((row) => row.user !== superuser)
        .map((row) => ({
          database: row.database,
          user: row.user,
          clientsActive: Number(row.cl_active),
          clientsWaiting: Number(row.cl_waiting),
          serversActive: Number(row.sv_active),
          serversIdle: Number(row.sv_idle),
          serversUsed: Number(row.sv_used),
          serversLogin: Number(row.sv_login),
          poolMode: row.pool_mode,
        })),
  };
}
