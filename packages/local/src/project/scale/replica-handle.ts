/** `lb.replicas[i]`: a replica's doors, env, superuser SQL, and waits on its WAL positions. */
import { lsnReached } from '../../base/lsn.js';
import type { HostEnv, LocalReplica } from '../../base/scale-types.js';
import { currentLsn, type StandbyPositions, standbyPositions } from '../../postgres/replication.js';
import type { Instance } from '../compute/instance.js';
import type { LocalEndpoint } from '../compute/local-endpoint.js';
import { hostEnv } from '../env.js';
import type { ReplicaLag } from './replica-lag.js';

const DEFAULT_TIMEOUT_MS = 10_000;
const POLL_MS = 5;

export function replicaHandle(
  endpoint: LocalEndpoint,
  primary: Instance,
  lag: ReplicaLag,
  baseEnv: HostEnv,
): LocalReplica {
  const replica = endpoint.instance;
  const { host, port } = endpoint.direct;
  const pooled = endpoint.pooled;
  const wait = async (
    what: 'received' | 'replayed',
    lsn: string | undefined,
    timeoutMs = DEFAULT_TIMEOUT_MS,
  ) => {
    const target = lsn ?? (await currentLsn(primary.admin.sql));
    const deadline = Date.now() + timeoutMs;
    await lag.settled();
    let last: StandbyPositions | undefined;
    while (true) {
      last = await standbyPositions(replica.admin.sql);
      const position = last[what];
      if (position && lsnReached(position, target)) return;
      if (what === 'replayed' && lag.on) {
        throw new Error(
          `${endpoint.name}: WAL replay is paused (faults.replicaLag(true)), so it will not reach ${target} (replayed ${last.replayed ?? 'nothing'})`,
        );
      }
      if (Date.now() > deadline) {
        throw new Error(
          `${endpoint.name}: ${what} ${last[what] ?? 'nothing'}, not ${target}, after ${timeoutMs} ms`,
        );
      }
      await new Promise((resolve) => setTimeout(resolve, POLL_MS));
    }
  };
  return {
    endpoint: endpoint.name,
    host,
    port,
    env: hostEnv(baseEnv, { host, port, endpoint: endpoint.name }),
    ...(pooled
      ? {
          pooler: {
            host: pooled.host,
            port: pooled.port,
            env: hostEnv(baseEnv, { ...pooled, endpoint: endpoint.name }),
          },
        }
      : {}),
    sql: async (text, values) => (await replica.admin.sql(text, values)).rows,
    waitForReplay: (lsn, options = {}) => wait('replayed', lsn, options.timeoutMs),
    waitForReceive: (lsn, options = {}) => wait('received', lsn, options.timeoutMs),
  };
}
