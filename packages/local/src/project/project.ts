/**
 * The local project's computes: the main branch's Postgres and its endpoint (the direct door on
 * 127.0.0.1, and with a pooler a pooled door in front of PgBouncer), its read replicas (each an
 * endpoint of its own), and the registry of every endpoint the APIs read. Closing it stops every
 * process it started (replicas first, then the primary) and closes every door.
 */
import path from 'node:path';
import type { EndpointType } from '../base/endpoint-types.js';
import type { Log } from '../base/types.js';
import { installExtensionFiles } from '../postgres/extension.js';
import { dropSlotsLike } from '../postgres/replication.js';
import { resolveEmbeddedPostgres } from '../postgres/runtime/resolve.js';
import { createLocalCertificates } from '../proxy/certificates.js';
import { LocalBranchEngine } from './branches/branch-engine.js';
import { History } from './branches/history.js';
import { Doors } from './compute/doors.js';
import { Endpoints } from './compute/endpoints.js';
import { Instance } from './compute/instance.js';
import { type EndpointContext, LocalEndpoint, type PoolerSpec } from './compute/local-endpoint.js';
import type { DataDir } from './data-dir.js';
import type { Settings } from './options.js';
import { PoolerSwitch } from './scale/pooler-handle.js';
import { REPLICA_SLOT_PREFIX, startReplica, stopReplica } from './scale/replica.js';
import { ReplicaLag } from './scale/replica-lag.js';

export interface ProjectOptions {
  settings: Settings;
  dataDir: DataDir;
  /** True when `password` is a valid Postgres token for `user` (the workspace checks). */
  token(user: string, password: string): boolean;
  /** The main endpoint's direct door (0: a free port). */
  proxyPort: number;
  /** The PgBouncer binary, with a pooler. */
  pgbouncer: string | undefined;
}

export class Project {
  readonly endpoints = new Endpoints();
  readonly poolerSwitch: PoolerSwitch;
  /** Server settings every instance shares (the extension's). */
  readonly instanceSettings: Record<string, string>;
  /** Every branch but main: a Postgres of its own each. */
  readonly branches: LocalBranchEngine;
  readonly #options: ProjectOptions;
  readonly #doors: Doors;
  readonly #history: History | undefined;
  readonly #main: Instance;
  #mainEndpoint: LocalEndpoint | undefined;
  readonly #replicas: { id: string; endpoint: LocalEndpoint }[] = [];
  /** `faults.replicaLag()`: every read-only endpoint's replay, paused or not. */
  readonly replicaLag = new ReplicaLag(
    () =>
      this.endpoints
        .all()
        .filter((endpoint) => endpoint.type === 'ENDPOINT_TYPE_READ_ONLY')
        .map((endpoint) => endpoint.instance),
    (line) => this.log(line),
  );

  constructor(
    options: ProjectOptions,
    doors: Doors,
    instanceSettings: Record<string, string>,
    history?: { history: History; settings: Record<string, string> },
  ) {
    this.#options = options;
    this.#doors = doors;
    this.instanceSettings = instanceSettings;
    this.#history = history?.history;
    this.poolerSwitch = new PoolerSwitch(options.settings.pooler?.oauth ?? true);
    this.endpoints.provisionWith({
      create: (branch, id, type) => this.#createEndpoint(branch, id, type),
      remove: (endpoint) => endpoint.close(),
    });
    const { settings, dataDir } = options;
    this.#main = new Instance({
      root: dataDir.root,
      superuserPassword: dataDir.state.superuserPassword,
      fast: dataDir.temporary,
      database: settings.database,
      // Only the main Postgres archives its WAL (the history).
      settings: { ...instanceSettings, ...history?.settings },
      log: settings.log,
    });
    this.branches = new LocalBranchEngine({
      root: dataDir.root,
      mainBranch: settings.branch,
      main: this.#main,
      superuserPassword: dataDir.state.superuserPassword,
      fast: dataDir.temporary,
      database: settings.database,
      owner: settings.projectOwner,
      settings: instanceSettings,
      endpoints: this.endpoints,
      context: () => this.context,
      history: this.#history,
    });
  }

  /** Prepares the files every instance needs (the extension, the CA); nothing runs yet. */
  static async prepare(options: ProjectOptions): Promise<Project> {
    const root = options.dataDir.root;
    const settings = {
      ...(await installExtensionFiles(root)),
      max_connections: String(options.settings.maxConnections),
    };
    const certificates = options.settings.tls ? await createLocalCertificates(root) : undefined;
    const doors = new Doors(certificates, options.settings.log);
    const retention = options.settings.historyRetentionSeconds;
    if (retention === undefined) return new Project(options, doors, settings);
    const history = new History(root, retention);
    // The archive must belong to the OS user Postgres runs as before Postgres starts.
    const { runAs } = await resolveEmbeddedPostgres();
    return new Project(options, doors, settings, {
      history,
      settings: await history.prepare(runAs),
    });
  }

  get log(): Log {
    return this.#options.settings.log;
  }

  get doors(): Doors {
    return this.#doors;
  }

  /** The main branch's Postgres. */
  get main(): Instance {
    return this.#main;
  }

  get mainEndpoint(): LocalEndpoint {
    if (!this.#mainEndpoint) throw new Error('the project has not started');
    return this.#mainEndpoint;
  }

  /** The read replicas' endpoints, in order. */
  get replicas(): LocalEndpoint[] {
    return this.#replicas.map((replica) => replica.endpoint);
  }

  get context(): EndpointContext {
    return { doors: this.#doors, token: this.#options.token, log: this.log };
  }

  /** The pooled door's set-up for an instance, with a pooler. */
  poolerSpec(): PoolerSpec | undefined {
    const { pgbouncer, settings } = this.#options;
    if (!pgbouncer || !settings.pooler) return undefined;
    const oauth = this.poolerSwitch;
    return {
      binary: pgbouncer,
      poolSize: settings.pooler.poolSize,
      maxDbConnections: settings.pooler.maxDbConnections,
      acceptTokens: () => oauth.acceptsOAuth,
    };
  }

  /** Starts the main Postgres and opens the main endpoint's doors. */
  async start(): Promise<void> {
    await this.#main.start();
    this.#mainEndpoint = await LocalEndpoint.open(this.context, {
      name: this.#options.settings.endpoint,
      type: 'ENDPOINT_TYPE_READ_WRITE',
      instance: this.#main,
      primaryPort: this.#options.proxyPort,
      pooler: this.poolerSpec(),
      fixed: true,
    });
    this.endpoints.add(this.#mainEndpoint);
  }

  /** With history kept: its anchor, once the project's database and roles exist. */
  async startHistory(): Promise<void> {
    await this.#history?.anchor(this.#main);
  }

  /** The Postgres instance of a running branch (the main one included). */
  instanceOf(branch: string): Instance | undefined {
    return this.branches.instanceOf(branch);
  }

  /**
   * A new endpoint of `branch`: READ_ONLY is a new streaming replica of the branch's Postgres,
   * READ_WRITE a door to that Postgres (the API allows one per branch).
   */
  async #createEndpoint(branch: string, id: string, type: EndpointType): Promise<LocalEndpoint> {
    const instance = this.instanceOf(branch);
    if (!instance) throw new Error(`Branch '${branch}' has no running Postgres`);
    const name = `${branch}/endpoints/${id}`;
    if (type === 'ENDPOINT_TYPE_READ_WRITE') {
      return LocalEndpoint.open(this.context, { name, type, instance });
    }
    return this.#openReplica(instance, id, name, false);
  }

  /** A streaming replica of `primary` and its endpoint (with the pooler, a pooled door too). */
  async #openReplica(primary: Instance, id: string, name: string, fixed: boolean) {
    const { settings, dataDir } = this.#options;
    const instance = await startReplica({
      primary,
      id,
      dir: path.join(primary.root, 'replicas'),
      superuserPassword: dataDir.state.superuserPassword,
      fast: dataDir.temporary,
      database: settings.database,
      settings: this.instanceSettings,
      log: settings.log,
    });
    const owned = { close: () => stopReplica(primary, id, instance) };
    return LocalEndpoint.open(this.context, {
      name,
      type: 'ENDPOINT_TYPE_READ_ONLY',
      instance,
      pooler: this.poolerSpec(),
      owned,
      fixed,
    }).catch(async (error) => {
      await owned.close();
      throw error;
    });
  }

  /** Starts the read replicas (`settings.replicas`), one after the other. */
  async startReplicas(): Promise<void> {
    const { settings } = this.#options;
    if (settings.replicas === 0) return;
    // Slots of an earlier run of a kept data dir keep WAL for nobody.
    await dropSlotsLike(this.#main.admin.sql, REPLICA_SLOT_PREFIX);
    for (let n = 1; n <= settings.replicas; n++) {
      const id = `read-replica-${n}`;
      const name = `${settings.branch}/endpoints/${id}`;
      const endpoint = await this.#openReplica(this.#main, id, name, true);
      this.#replicas.push({ id, endpoint });
      this.endpoints.add(endpoint);
    }
  }

  /** Closes every branch, every endpoint (replicas first), then the main Postgres. */
  async close(): Promise<void> {
    await this.branches.close();
    const main = this.#mainEndpoint;
    for (const endpoint of this.endpoints.all().reverse()) {
      if (endpoint !== main) await endpoint.close();
    }
    await main?.close();
    await this.#main.close();
  }
}
