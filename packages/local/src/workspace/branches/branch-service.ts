/**
 * The branches of the local project (the control plane): their records and states, what each
 * change may do (protected branches are neither deleted nor reset; one protected branch per
 * project; an expiration policy on every new branch), expiry, and soft deletion. The data
 * plane (each branch's Postgres) is the `BranchEngine`'s. Every change returns its work as a
 * promise, for a long-running operation.
 */
import { randomBytes } from 'node:crypto';
import type { BranchEngine, BranchPoint } from '../../base/branch-types.js';
import type { Log } from '../../base/types.js';
import { ApiError, invalid } from '../api/api-error.js';
import type { BranchDirectory } from '../api/router.js';
import type { RolesBackend } from '../workspace-types.js';
import {
  type BranchRecord,
  type BranchState,
  type Expiration,
  expireTime,
} from './branch-record.js';
import type { CreateSpec } from './branch-request.js';

/** How long a deleted branch stays restorable before it is purged (not documented: a choice). */
export const PURGE_AFTER_MS = 7 * 24 * 3600_000;
const MAX_TIMER_MS = 2 ** 31 - 1;

export interface BranchServiceOptions {
  /** `projects/<p>/branches/<b>`: the default branch (its Postgres is the main one). */
  defaultBranch: string;
  /** The default branch's roles. */
  defaultRoles: RolesBackend;
  engine: BranchEngine;
  log: Log;
  now?: () => Date;
}

const notFound = (name: string) => new ApiError(404, 'NOT_FOUND', `Branch '${name}' not found`);
const precondition = (message: string) => new ApiError(400, 'FAILED_PRECONDITION', message);

export class BranchService implements BranchDirectory {
  readonly project: string;
  readonly #options: BranchServiceOptions;
  readonly #records = new Map<string, BranchRecord>();
  readonly #timers = new Map<string, NodeJS.Timeout>();
  readonly #now: () => Date;

  constructor(options: BranchServiceOptions) {
    this.#options = options;
    this.#now = options.now ?? (() => new Date());
    const [project, id] = options.defaultBranch.split('/branches/') as [string, string];
    this.project = project;
    const now = this.#now();
    this.#records.set(options.defaultBranch, {
      id,
      name: options.defaultBranch,
      uid: newUid(),
      parent: project,
      createTime: now,
      updateTime: now,
      state: 'READY',
      stateChangeTime: now,
      isDefault: true,
      isProtected: false,
      expiration: { kind: 'no_expiry' },
    });
  }

  // BranchDirectory (the router's view)

  exists(name: string): boolean {
    return this.#records.has(name);
  }

  roles(name: string): RolesBackend | undefined {
    const record = this.#records.get(name);
    if (!record || (record.state !== 'READY' && record.state !== 'RESETTING')) return undefined;
    if (name === this.#options.defaultBranch) return this.#options.defaultRoles;
    return this.#options.engine.roles(name);
  }

  isProtected(name: string): boolean {
    return this.#records.get(name)?.isProtected === true;
  }

  // Reading

  list(showDeleted = false): BranchRecord[] {
    return [...this.#records.values()]
      .filter((record) => showDeleted || record.state !== 'DELETED')
      .sort((a, b) => a.id.localeCompare(b.id));
  }

  get(name: string): BranchRecord {
    const record = this.#records.get(name);
    if (!record) throw notFound(name);
    return record;
  }

  // Changes: each checks at once, and returns the work (the operation's response).

  async create(name: string, spec: CreateSpec): Promise<{ work: Promise<BranchRecord> }> {
    if (this.#records.has(name))
      throw new ApiError(409, 'ALREADY_EXISTS', `Branch '${name}' already exists`);
    const source = spec.source ?? this.#options.defaultBranch;
    const parent = this.#records.get(source);
    if (!parent || !source.startsWith(`${this.project}/`)) {
      throw invalid(`spec.source_branch: branch '${source}' does not exist`);
    }
    if (parent.state !== 'READY') {
      throw precondition(`Source branch '${source}' is ${parent.state}, not READY`);
    }
    if (spec.isProtected) this.#assertNoOtherProtected(name);
    const point: BranchPoint = spec.time
      ? { kind: 'time', ...spec.time }
      : spec.lsn
        ? { kind: 'lsn', lsn: spec.lsn }
        : { kind: 'now' };
    // A point outside the local history: BranchHistoryError (the API answers it as a 400).
    await this.#options.engine.checkPoint(source, point);
    const now = this.#now();
    const record: BranchRecord = {
      id: name.split('/branches/')[1]!,
      name,
      uid: newUid(),
      parent: this.project,
      createTime: now,
      updateTime: now,
      state: 'INIT',
      stateChangeTime: now,
      isDefault: false,
      isProtected: spec.isProtected,
      source,
      ...(spec.lsn ? { askedLsn: spec.lsn } : {}),
      ...(spec.time ? { askedTime: spec.time.text } : {}),
      expiration: spec.expiration,
    };
    this.#records.set(name, record);
    this.#options.log(`api: branches: creating ${name} from ${source} (${point.kind})`);
    const work = this.#options.engine.create(name, source, point).then(
      (origin) => {
        record.sourceLsn = origin.lsn;
        record.sourceTime = origin.time;
        this.#setState(record, 'READY');
        this.#schedule(record);
        return record;
      },
      async (error: unknown) => {
        this.#records.delete(name);
        await this.#options.engine.purge(name).catch(() => undefined);
        throw error;
      },
    );
    return { work };
  }

  update(
    name: string,
    paths: Set<'protection' | 'expiration'>,
    change: { isProtected?: boolean; expiration?: Expiration },
  ): BranchRecord {
    const record = this.#ready(name, 'updated');
    if (paths.has('protection')) {
      if (typeof change.isProtected !== 'boolean') {
        throw invalid('spec.is_protected must be a boolean (update_mask names it)');
      }
      if (change.isProtected) this.#assertNoOtherProtected(name);
      record.isProtected = change.isProtected;
    }
    if (paths.has('expiration') && change.expiration) {
      if (record.isDefault && change.expiration.kind !== 'no_expiry') {
        throw precondition(`The default branch '${name}' cannot expire`);
      }
      record.expiration = change.expiration;
    }
    record.updateTime = this.#now();
    this.#schedule(record);
    return record;
  }

  delete(name: string, purge: boolean): { work: Promise<BranchRecord> } {
    const record = this.get(name);
    if (record.state === 'DELETED') {
      if (!purge) return { work: Promise.resolve(record) };
      return { work: this.#purge(record).then(() => record) };
    }
    this.#ready(name, 'deleted');
    this.#assertRemovable(record, 'deleted');
    const children = this.list().filter((branch) => branch.source === name);
    if (children.length > 0) {
      throw precondition(
        `Branch '${name}' has child branches (${children.map((c) => c.id).join(', ')}): delete them first`,
      );
    }
    this.#options.log(`api: branches: deleting ${name}${purge ? ' (purge)' : ''}`);
    const work = (async () => {
      await this.#options.engine.suspend(name);
      const now = this.#now();
      record.deleteTime = now;
      record.purgeTime = new Date(now.getTime() + PURGE_AFTER_MS);
      record.updateTime = now;
      this.#setState(record, 'DELETED');
      this.#unschedule(name);
      if (purge) await this.#purge(record);
      return record;
    })();
    return { work };
  }

  undelete(name: string): { work: Promise<BranchRecord> } {
    const record = this.get(name);
    if (record.state !== 'DELETED') throw precondition(`Branch '${name}' is not deleted`);
    const work = (async () => {
      this.#setState(record, 'INIT');
      await this.#options.engine.resume(name);
      const expires = expireTime(record);
      // Restored after it expired: it would expire again at once, so it no longer expires.
      if (expires && expires <= this.#now()) record.expiration = { kind: 'no_expiry' };
      delete record.deleteTime;
      delete record.purgeTime;
      record.updateTime = this.#now();
      this.#setState(record, 'READY');
      this.#schedule(record);
      return record;
    })();
    return { work };
  }

  reset(name: string): { work: Promise<BranchRecord> } {
    const record = this.#ready(name, 'reset');
    this.#assertRemovable(record, 'reset');
    const source = record.source!;
    const parent = this.#records.get(source);
    if (parent?.state !== 'READY') throw precondition(`Parent branch '${source}' is not READY`);
    this.#setState(record, 'RESETTING');
    this.#options.log(`api: branches: resetting ${name} from ${source}`);
    const work = this.#options.engine.reset(name, source).then(
      (origin) => {
        record.sourceLsn = origin.lsn;
        record.sourceTime = origin.time;
        delete record.askedLsn;
        delete record.askedTime;
        record.updateTime = this.#now();
        this.#setState(record, 'READY');
        return record;
      },
      (error: unknown) => {
        this.#setState(record, 'READY');
        throw error;
      },
    );
    return { work };
  }

  /**
   * Expiry as of `at` (default now): every branch whose expiration time has come is deleted
   * (softly, as the API would), and every deleted branch whose purge time has come is purged.
   * Resolves the names of the branches that expired.
   */
  async expireDue(at: Date = this.#now()): Promise<string[]> {
    const expired: string[] = [];
    for (const record of this.list(true)) {
      const expires = expireTime(record);
      if (record.state === 'READY' && expires && expires <= at && !record.isProtected) {
        const children = this.list().filter((branch) => branch.source === record.name);
        if (children.length > 0 || record.isDefault) continue;
        this.#options.log(`api: branches: ${record.name} expired`);
        await this.delete(record.name, false).work;
        expired.push(record.name);
      } else if (record.state === 'DELETED' && record.purgeTime && record.purgeTime <= at) {
        await this.#purge(record);
      }
    }
    return expired;
  }

  /** Stops the expiry timers. */
  close(): void {
    for (const timer of this.#timers.values()) clearTimeout(timer);
    this.#timers.clear();
  }

  #ready(name: string, verb: string): BranchRecord {
    const record = this.get(name);
    if (record.state !== 'READY') {
      throw precondition(`Branch '${name}' is ${record.state}: only a READY branch can be ${verb}`);
    }
    return record;
  }

  #assertRemovable(record: BranchRecord, verb: 'deleted' | 'reset'): void {
    if (record.isProtected) {
      throw precondition(
        `Branch '${record.name}' is protected: a protected branch cannot be ${verb} ` +
          '(unprotect it first: update with update_mask=spec.is_protected)',
      );
    }
    if (record.isDefault) {
      throw precondition(
        verb === 'reset'
          ? `The default branch '${record.name}' has no parent to reset from`
          : `The default branch '${record.name}' cannot be deleted`,
      );
    }
  }

  #assertNoOtherProtected(name: string): void {
    const other = this.list(true).find((record) => record.isProtected && record.name !== name);
    if (other) {
      throw precondition(
        `Branch '${other.name}' is already protected: each project supports one protected branch`,
      );
    }
  }

  async #purge(record: BranchRecord): Promise<void> {
    this.#records.delete(record.name);
    this.#unschedule(record.name);
    await this.#options.engine.purge(record.name);
  }

  #setState(record: BranchRecord, state: BranchState): void {
    record.state = state;
    record.stateChangeTime = this.#now();
  }

  /** A timer for the branch's expiry (real time; tests call `expireDue` instead). */
  #schedule(record: BranchRecord): void {
    this.#unschedule(record.name);
    const expires = expireTime(record);
    if (!expires || record.isProtected) return;
    const delay = Math.min(Math.max(0, expires.getTime() - this.#now().getTime()), MAX_TIMER_MS);
    const timer = setTimeout(() => {
      this.#timers.delete(record.name);
      this.expireDue().catch((error: Error) =>
        this.#options.log(`api: expiry failed: ${error.message}`),
      );
    }, delay);
    timer.unref();
    this.#timers.set(record.name, timer);
  }

  #unschedule(name: string): void {
    clearTimeout(this.#timers.get(name));
    this.#timers.delete(name);
  }
}

function newUid(): string {
  return `br-${randomBytes(6).toString('hex')}`;
}
