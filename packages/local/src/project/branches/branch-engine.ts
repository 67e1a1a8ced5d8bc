/**
 * The branches' data plane: each branch is a Postgres instance of its own in
 * `<dataDir>/branches/<id>/`, cloned from its source branch (a base backup of it now, or the
 * history's anchor recovered to an earlier point) and promoted, with its own read-write
 * endpoint (`<branch>/endpoints/primary`, a door on a host of its own) and its own roles.
 */
import fs from 'node:fs/promises';
import path from 'node:path';
import type { BranchEngine, BranchOrigin, BranchPoint } from '../../base/branch-types.js';
import { BranchHistoryError } from '../../base/branch-types.js';
import { SerialQueue } from '../../base/serial-queue.js';
import { baseBackup } from '../../postgres/clone/base-backup.js';
import { PostgresRoleStore } from '../../postgres/role-store.js';
import type { Endpoints } from '../compute/endpoints.js';
import { Instance } from '../compute/instance.js';
import { type EndpointContext, LocalEndpoint } from '../compute/local-endpoint.js';
import type { History } from './history.js';

export interface BranchEngineOptions {
  /** `<dataDir>`: branches live in `<dataDir>/branches/<id>/`. */
  root: string;
  /** The main branch and its Postgres. */
  mainBranch: string;
  main: Instance;
  /** Everything an instance of the project starts with. */
  superuserPassword: string;
  fast: boolean;
  database: string;
  owner: string;
  settings: Record<string, string>;
  endpoints: Endpoints;
  context: () => EndpointContext;
  /** The main branch's history (undefined: none kept). */
  history: History | undefined;
}

interface Running {
  instance: Instance | undefined;
  roles: { store: PostgresRoleStore; roleChanges: SerialQueue } | undefined;
}

const ENDPOINT_ID = 'primary';

export class LocalBranchEngine implements BranchEngine {
  readonly #options: BranchEngineOptions;
  readonly #branches = new Map<string, Running>();

  constructor(options: BranchEngineOptions) {
    this.#options = options;
  }

  /** The Postgres of a running branch (the main one included). */
  instanceOf(branch: string): Instance | undefined {
    if (branch === this.#options.mainBranch) return this.#options.main;
    return this.#branches.get(branch)?.instance;
  }

  roles(branch: string) {
    return this.#branches.get(branch)?.roles;
  }

  async checkPoint(source: string, point: BranchPoint): Promise<void> {
    if (point.kind === 'now') return;
    const { history, mainBranch, main } = this.#options;
    if (source !== mainBranch || !history) {
      throw new BranchHistoryError(
        `Branch '${source}' keeps no local history: only the main branch does, and only with ` +
          'historyRetentionSeconds; branch from it at an earlier point, or from any branch now',
      );
    }
    await history.check(main, point);
  }

  async create(branch: string, source: string, point: BranchPoint): Promise<BranchOrigin> {
    const from = this.#sourceInstance(source);
    await this.checkPoint(source, point);
    const root = this.#root(branch);
    await fs.rm(root, { recursive: true, force: true });
    await fs.mkdir(root, { recursive: true, mode: 0o755 });
    await fs.chmod(root, 0o755);
    const pgdata = path.join(root, 'pgdata');
    let origin: BranchOrigin | undefined;
    let settings = this.#options.settings;
    if (point.kind === 'now') {
      const backup = await baseBackup(from.backupSource, pgdata, { wal: true, owner: from.osUser });
      origin = { lsn: backup.stopLsn, time: backup.stopTime };
    } else {
      const recovery = await this.#options.history!.clone(from, point, pgdata);
      settings = { ...settings, ...recovery };
    }
    const instance = this.#instance(root, settings);
    const running: Running = { instance, roles: undefined };
    this.#branches.set(branch, running);
    try {
      await instance.start();
      // Promoted: later starts (a reset, an undelete) need no recovery settings.
      instance.server.settings = this.#options.settings;
      if (!origin) origin = await this.#originOf(instance, point);
      running.roles = this.#rolesOf(branch, instance);
      await this.#openEndpoint(branch, instance);
      return origin;
    } catch (error) {
      await this.suspend(branch);
      throw error;
    }
  }

  async reset(branch: string, source: string): Promise<BranchOrigin> {
    const running = this.#branches.get(branch);
    const instance = running?.instance;
    if (!instance) throw new Error(`Branch '${branch}' is not running`);
    const from = this.#sourceInstance(source);
    // Read replicas of the old data cannot follow the new: they go.
    for (const endpoint of this.#options.endpoints.of(branch)) {
      if (endpoint.type === 'ENDPOINT_TYPE_READ_ONLY')
        await this.#options.endpoints.remove(endpoint.name);
    }
    let origin: BranchOrigin | undefined;
    const pgdata = instance.server.pgdata;
    await instance.restart(async () => {
      await fs.rm(pgdata, { recursive: true, force: true });
      const backup = await baseBackup(from.backupSource, pgdata, { wal: true, owner: from.osUser });
      origin = { lsn: backup.stopLsn, time: backup.stopTime };
    }, this.#options.settings);
    return origin!;
  }

  async suspend(branch: string): Promise<void> {
    const running = this.#branches.get(branch);
    for (const endpoint of this.#options.endpoints.of(branch)) {
      await this.#options.endpoints.remove(endpoint.name);
    }
    await running?.instance?.close();
    if (running) {
      running.instance = undefined;
      running.roles = undefined;
    }
  }

  async resume(branch: string): Promise<void> {
    const running = this.#branches.get(branch);
    if (!running) throw new Error(`Branch '${branch}' has no data to start from`);
    if (running.instance) return;
    const instance = this.#instance(this.#root(branch), this.#options.settings);
    running.instance = instance;
    await instance.start();
    running.roles = this.#rolesOf(branch, instance);
    await this.#openEndpoint(branch, instance);
  }

  async purge(branch: string): Promise<void> {
    await this.suspend(branch);
    this.#branches.delete(branch);
    await fs.rm(this.#root(branch), { recursive: true, force: true });
  }

  /** Stops every branch's computes (their data goes with the data dir, or stays in it). */
  async close(): Promise<void> {
    for (const branch of [...this.#branches.keys()].reverse()) await this.suspend(branch);
  }

  #sourceInstance(source: string): Instance {
    const instance = this.instanceOf(source);
    if (!instance) throw new Error(`Branch '${source}' is not running`);
    return instance;
  }

  #root(branch: string): string {
    return path.join(this.#options.root, 'branches', branch.split('/branches/')[1]!);
  }

  #instance(root: string, settings: Record<string, string>): Instance {
    const { superuserPassword, fast, database } = this.#options;
    const log = this.#options.context().log;
    return new Instance({ root, superuserPassword, fast, database, settings, log });
  }

  #rolesOf(branch: string, instance: Instance) {
    const { database, owner } = this.#options;
    const store = new PostgresRoleStore({ branch, database, owner, admin: instance.admin });
    return { store, roleChanges: new SerialQueue() };
  }

  async #openEndpoint(branch: string, instance: Instance): Promise<void> {
    const endpoint = await LocalEndpoint.open(this.#options.context(), {
      name: `${branch}/endpoints/${ENDPOINT_ID}`,
      type: 'ENDPOINT_TYPE_READ_WRITE',
      instance,
    });
    this.#options.endpoints.add(endpoint);
  }

  /** Where a point-in-time clone stands once promoted. */
  async #originOf(instance: Instance, point: BranchPoint): Promise<BranchOrigin> {
    if (point.kind === 'lsn') return { lsn: point.lsn, time: new Date() };
    const { rows } = await instance.admin.sql('select pg_current_wal_insert_lsn()::text as lsn');
    return { lsn: rows[0].lsn as string, time: point.kind === 'time' ? point.time : new Date() };
  }
}
