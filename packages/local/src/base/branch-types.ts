import type { RoleStore } from './role-types.js';
import type { SerialQueue } from './serial-queue.js';

/**
 * Branches: what the workspace's branch service (the control plane: records, states, expiry,
 * the API) asks of whoever runs the branches' Postgres (`BranchEngine`, the project's data
 * plane), and the typed error for a point in time the local history does not cover.
 */

/** Where a new branch's data comes from on its source branch. */
export type BranchPoint =
  | { kind: 'now' }
  /** `text`: the time as given (RFC 3339, up to microseconds); `time`: the same, in ms. */
  | { kind: 'time'; time: Date; text: string }
  | { kind: 'lsn'; lsn: string };

/** Where a branch's data came from on its source: the LSN and time it is consistent at. */
export interface BranchOrigin {
  lsn: string;
  time: Date;
}

export interface BranchEngine {
  /** Throws `BranchHistoryError` when `point` of `source` cannot be cloned locally. */
  checkPoint(source: string, point: BranchPoint): Promise<void>;
  /**
   * A new Postgres instance for `branch`, cloned from `source` at `point`, up and promoted,
   * with its read-write endpoint `<branch>/endpoints/primary` open.
   */
  create(branch: string, source: string, point: BranchPoint): Promise<BranchOrigin>;
  /** Replaces the branch's data with `source`'s data now (connections wait meanwhile). */
  reset(branch: string, source: string): Promise<BranchOrigin>;
  /** Soft delete: stops the branch's computes and closes their doors; its data stays. */
  suspend(branch: string): Promise<void>;
  /** Undelete: starts the branch's Postgres again and reopens its read-write endpoint. */
  resume(branch: string): Promise<void>;
  /** Removes the branch's data for good (after `suspend`). */
  purge(branch: string): Promise<void>;
  /** The roles of a running branch (each branch is its own Postgres, with its own roles). */
  roles(branch: string): { store: RoleStore; roleChanges: SerialQueue } | undefined;
}

/** The local retention window does not cover a requested point in time (or LSN). */
export class BranchHistoryError extends Error {
  override name = 'BranchHistoryError';
}
