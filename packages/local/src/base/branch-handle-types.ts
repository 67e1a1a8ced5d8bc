/** Public types of `lb.branches`: branches made, found and expired from code. */
import type { HostEnv } from './scale-types.js';

/** `lb.branches.create(id, options)`: a create-branch request as the project owner. */
export interface BranchCreateOptions {
  /** The source branch: an id (`main`) or a path (`projects/<p>/branches/<b>`); default main. */
  source?: string;
  /**
   * An earlier point on the source (needs `historyRetentionSeconds`): a time (a `Date`, or
   * RFC 3339 text, microseconds kept) or an LSN (`'0/16B3748'`).
   */
  at?: Date | string;
  /** Expiration: a time to live, an absolute time, or none (`noExpiry`, the default here). */
  ttlSeconds?: number;
  expireTime?: Date;
  noExpiry?: boolean;
  /** `spec.is_protected`. */
  protected?: boolean;
}

/** A running branch: its read-write endpoint's door, env, and superuser SQL. */
export interface LocalBranch {
  /** `feature-x` */
  readonly id: string;
  /** `projects/<p>/branches/<id>` */
  readonly name: string;
  /** `projects/<p>/branches/<id>/endpoints/primary` (mint tokens for it). */
  readonly endpoint: string;
  readonly host: string;
  readonly port: number;
  /** `lb.env` with this branch's host, port and endpoint. */
  readonly env: HostEnv;
  // biome-ignore lint/suspicious/noExplicitAny: rows are whatever the query returns
  sql<R = any>(text: string, values?: unknown[]): Promise<R[]>;
}

export interface LocalBranches {
  /** Creates a branch (the branches API's create, as the project owner) and waits for it. */
  create(id: string, options?: BranchCreateOptions): Promise<LocalBranch>;
  /** A running branch by id (undefined: none, not READY, or deleted). */
  get(id: string): LocalBranch | undefined;
  /** The ids of the branches that are not deleted, the default one included. */
  list(): string[];
  /**
   * Expiry, driven explicitly (no waiting for the clock): deletes every branch whose
   * expiration time is at or before `at` (default: now), as Lakebase does when a branch
   * expires, and purges deleted branches whose purge time has come. Resolves the expired ids.
   */
  expireDue(at?: Date): Promise<string[]>;
}
