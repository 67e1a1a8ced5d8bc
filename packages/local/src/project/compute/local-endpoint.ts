/**
 * One Lakebase endpoint of the local project: the doors to one Postgres instance. The direct
 * door proxies to Postgres' private socket; with a pooler, a second door (its own host)
 * proxies to a real PgBouncer in transaction mode in front of the same instance. Both doors
 * check every login (see login-policy.ts) and share the endpoint's scale-to-zero state.
 */
import { randomBytes } from 'node:crypto';
import path from 'node:path';
import type { EndpointRecord, EndpointType } from '../../base/endpoint-types.js';
import type { Log } from '../../base/types.js';
import { PgBouncer } from '../../postgres/pgbouncer/pgbouncer.js';
import { SUPERUSER } from '../../postgres/server.js';
import { ProxyStats } from '../../proxy/proxy-stats.js';
import { type SuspendMode, Suspension } from '../../proxy/suspension.js';
import type { WireProxy } from '../../proxy/wire-proxy.js';
import type { Doors } from './doors.js';
import type { Instance } from './instance.js';
import { loginPolicy } from './login-policy.js';

/** How a pooled door is set up. */
export interface PoolerSpec {
  /** The PgBouncer binary. */
  binary: string;
  /** Server connections per database and user. */
  poolSize: number;
  /** Server connections per database across users (0: unlimited). */
  maxDbConnections: number;
  /** Whether the pooled door accepts OAuth tokens (else native password roles only). */
  acceptTokens(): boolean;
}

export interface EndpointContext {
  doors: Doors;
  /** True when `password` is a valid Postgres token for `user`. */
  token(user: string, password: string): boolean;
  log: Log;
}

export interface EndpointSpec {
  name: string;
  type: EndpointType;
  instance: Instance;
  /** Fixed port on 127.0.0.1 (the main endpoint's direct door); else a host of its own. */
  primaryPort?: number;
  pooler?: PoolerSpec;
  /** Closed after the doors (a replica's own instance). */
  owned?: { close(): Promise<void> };
  /** Made at start: the API may not remove it. */
  fixed?: boolean;
}

const newUid = () => `ep-${randomBytes(6).toString('hex')}`;

export class LocalEndpoint {
  readonly name: string;
  readonly type: EndpointType;
  readonly uid = newUid();
  readonly createTime = new Date();
  readonly instance: Instance;
  readonly suspension = new Suspension();
  /** The doors' counters (direct and pooled: client connections and logins). */
  readonly stats = new ProxyStats();
  readonly #spec: EndpointSpec;
  #direct: WireProxy | undefined;
  #pooled: { door: WireProxy; pgbouncer: PgBouncer } | undefined;

  constructor(spec: EndpointSpec) {
    this.#spec = spec;
    this.name = spec.name;
    this.type = spec.type;
    this.instance = spec.instance;
  }

  /** Opens the doors (and starts the pooler); on failure nothing is left open. Use this. */
  static async open(context: EndpointContext, spec: EndpointSpec): Promise<LocalEndpoint> {
    const endpoint = new LocalEndpoint(spec);
    try {
      await endpoint.#open(context);
      return endpoint;
    } catch (error) {
      await endpoint.close();
      throw error;
    }
  }

  async #open({ doors, token, log }: EndpointContext): Promise<void> {
    const { instance, pooler, primaryPort } = this.#spec;
    const id = this.name.split('/').at(-1) ?? this.name;
    const direct = {
      backendSocket: () => instance.backendSocket(),
      verify: loginPolicy({ token, instance, door: id, log }),
      terminateBackends: (pids: number[]) => instance.admin.terminate(pids),
      suspension: this.suspension,
      stats: this.stats,
    };
    this.#direct =
      primaryPort === undefined
        ? await doors.open(direct)
        : await doors.openPrimary(direct, primaryPort);
    if (!pooler) return;
    const server = instance.server;
    const pgbouncer = new PgBouncer({
      binary: pooler.binary,
      dir: path.join(instance.root, `pgbouncer-${id}`),
      runAs: instance.osUser,
      postgresSocketDir: server.socketDir,
      postgresPort: server.port,
      poolSize: pooler.poolSize,
      maxDbConnections: pooler.maxDbConnections,
      queryWaitTimeout: 120,
      superuser: SUPERUSER,
      log,
    });
    try {
      await pgbouncer.start();
      const door = await doors.open({
        backendSocket: async () => {
          await instance.whenUp();
          return pgbouncer.socketPath;
        },
        verify: loginPolicy({
          token,
          instance,
          acceptTokens: pooler.acceptTokens,
          door: `${id} (pooled)`,
          log,
        }),
        suspension: this.suspension,
        // client logins at either door count alike (`lb.stats()`): what a kit's pool opens
        stats: this.stats,
        // PgBouncer's admin console (its `pgbouncer` database) is the emulator's alone.
        refuseDatabases: ['pgbouncer'],
      });
      this.#pooled = { door, pgbouncer };
    } catch (error) {
      await pgbouncer.stop();
      throw error;
    }
  }

  /** The direct door's host and port. */
  get direct(): { host: string; port: number } {
    return { host: this.#direct?.host ?? '', port: this.#direct?.port ?? 0 };
  }

  /** The pooled door's host and port, with a pooler. */
  get pooled(): { host: string; port: number } | undefined {
    const door = this.#pooled?.door;
    return door && { host: door.host, port: door.port };
  }

  /** The PgBouncer behind the pooled door. */
  get pgbouncer(): PgBouncer | undefined {
    return this.#pooled?.pgbouncer;
  }

  /** What the endpoints API says about it. */
  record(): EndpointRecord {
    const { host, port } = this.direct;
    const pooled = this.pooled;
    const readOnly = this.type === 'ENDPOINT_TYPE_READ_ONLY';
    return {
      name: this.name,
      uid: this.uid,
      type: this.type,
      createTime: this.createTime,
      updateTime: this.createTime,
      state: this.suspension.mode ? 'IDLE' : 'ACTIVE',
      hosts: readOnly
        ? { host, read_only_host: host, ...(pooled ? { read_only_pooled_host: pooled.host } : {}) }
        : { host, ...(pooled ? { read_write_pooled_host: pooled.host } : {}) },
      ports: { [host]: port, ...(pooled ? { [pooled.host]: pooled.port } : {}) },
      fixed: this.#spec.fixed === true,
    };
  }

  /** Scale to zero: switches at once; resolves when the open connections are closed (57P01). */
  async suspend(mode: SuspendMode): Promise<void> {
    this.suspension.suspend(mode);
    await Promise.all([this.#direct?.terminateAll(), this.#pooled?.door.terminateAll()]);
  }

  wake(): void {
    this.suspension.wake();
  }

  /** Closes the doors, stops the pooler, then whatever the endpoint owns. */
  async close(): Promise<void> {
    this.suspension.wake();
    await this.#pooled?.door.close().catch(() => undefined);
    await this.#pooled?.pgbouncer.stop().catch(() => undefined);
    await this.#direct?.close().catch(() => undefined);
    await this.#spec.owned?.close().catch(() => undefined);
  }
}
