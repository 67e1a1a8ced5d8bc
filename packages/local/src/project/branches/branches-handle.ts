/** `lb.branches`: the branch service and engine, from code (as the project owner). */
import type {
  BranchCreateOptions,
  LocalBranch,
  LocalBranches,
} from '../../base/branch-handle-types.js';
import { isLsn } from '../../base/lsn.js';
import type { HostEnv } from '../../base/scale-types.js';
import type { Expiration } from '../../workspace/branches/branch-record.js';
import { timestamp } from '../../workspace/branches/branch-request.js';
import type { BranchService } from '../../workspace/branches/branch-service.js';
import type { Endpoints } from '../compute/endpoints.js';
import { hostEnv } from '../env.js';
import type { LocalBranchEngine } from './branch-engine.js';

export function branchesHandle(
  service: BranchService,
  engine: LocalBranchEngine,
  endpoints: Endpoints,
  baseEnv: HostEnv,
): LocalBranches {
  const nameOf = (id: string) =>
    id.startsWith('projects/') ? id : `${service.project}/branches/${id}`;
  const get = (id: string): LocalBranch | undefined => {
    const name = nameOf(id);
    const endpoint = endpoints.find(`${name}/endpoints/primary`);
    const instance = engine.instanceOf(name);
    if (!endpoint || !instance) return undefined;
    const { host, port } = endpoint.direct;
    return {
      id: name.split('/branches/')[1]!,
      name,
      endpoint: endpoint.name,
      host,
      port,
      env: hostEnv(baseEnv, { host, port, endpoint: endpoint.name }),
      sql: async (text, values) => (await instance.admin.sql(text, values)).rows,
    };
  };
  return {
    create: async (id: string, options: BranchCreateOptions = {}) => {
      const name = nameOf(id);
      const at = options.at;
      const time =
        at instanceof Date
          ? { text: at.toISOString(), time: at }
          : typeof at === 'string' && !isLsn(at)
            ? timestamp('at', at)
            : undefined;
      const { work } = await service.create(name, {
        source: options.source === undefined ? undefined : nameOf(options.source),
        time,
        lsn: typeof at === 'string' && isLsn(at) ? at : undefined,
        expiration: expirationOf(options),
        isProtected: options.protected === true,
      });
      await work;
      const branch = get(name);
      if (!branch) throw new Error(`Branch '${name}' was created but is not running`);
      return branch;
    },
    get,
    list: () => service.list().map((record) => record.id),
    expireDue: (at) => service.expireDue(at),
  };
}

function expirationOf(options: BranchCreateOptions): Expiration {
  if (options.ttlSeconds !== undefined) {
    if (!(options.ttlSeconds > 0)) throw new TypeError('ttlSeconds must be positive');
    return { kind: 'ttl', seconds: options.ttlSeconds, text: `${options.ttlSeconds}s` };
  }
  if (options.expireTime) return { kind: 'expire_time', at: options.expireTime };
  return { kind: 'no_expiry' };
}
