/**
 * A branch as the workspace keeps it, and as the Lakebase API shapes it (`Branch`: `spec` as
 * given, `status` as it is), checked against the Databricks SDKs' generated models.
 */

/** `BranchStatusState`; `DELETED` is a soft-deleted branch (newer SDKs list it too). */
export type BranchState = 'INIT' | 'READY' | 'RESETTING' | 'ARCHIVED' | 'IMPORTING' | 'DELETED';

/** Exactly one expiration policy, as `spec` gives it. */
export type Expiration =
  | { kind: 'ttl'; seconds: number; text: string }
  | { kind: 'expire_time'; at: Date }
  | { kind: 'no_expiry' };

export interface BranchRecord {
  id: string;
  /** `projects/<p>/branches/<id>` */
  name: string;
  uid: string;
  /** `projects/<p>` */
  parent: string;
  createTime: Date;
  updateTime: Date;
  state: BranchState;
  stateChangeTime: Date;
  isDefault: boolean;
  isProtected: boolean;
  /** The branch it was made from (none for the default branch). */
  source?: string;
  /** As asked in `spec` (an earlier point), kept as given. */
  askedLsn?: string;
  askedTime?: string;
  /** Where its data stands on the source (status). */
  sourceLsn?: string;
  sourceTime?: Date;
  expiration: Expiration;
  deleteTime?: Date;
  purgeTime?: Date;
}

/** When the branch expires (undefined: never). */
export function expireTime(record: BranchRecord): Date | undefined {
  const { expiration } = record;
  if (expiration.kind === 'ttl') {
    return new Date(record.createTime.getTime() + expiration.seconds * 1000);
  }
  return expiration.kind === 'expire_time' ? expiration.at : undefined;
}

const iso = (date: Date | undefined) => date?.toISOString();

export function branchJson(record: BranchRecord) {
  const { expiration } = record;
  const expires = expireTime(record);
  return {
    name: record.name,
    uid: record.uid,
    branch_id: record.id,
    parent: record.parent,
    create_time: iso(record.createTime),
    update_time: iso(record.updateTime),
    spec: {
      ...(record.source ? { source_branch: record.source } : {}),
      ...(record.askedLsn ? { source_branch_lsn: record.askedLsn } : {}),
      ...(record.askedTime ? { source_branch_time: record.askedTime } : {}),
      is_protected: record.isProtected,
      ...(expiration.kind === 'ttl' ? { ttl: expiration.text } : {}),
      ...(expiration.kind === 'expire_time' ? { expire_time: iso(expiration.at) } : {}),
      ...(expiration.kind === 'no_expiry' ? { no_expiry: true } : {}),
    },
    status: {
      branch_id: record.id,
      current_state: record.state,
      default: record.isDefault,
      is_protected: record.isProtected,
      ...(record.source ? { source_branch: record.source } : {}),
      ...(record.sourceLsn ? { source_branch_lsn: record.sourceLsn } : {}),
      ...(record.sourceTime ? { source_branch_time: iso(record.sourceTime) } : {}),
      ...(expires ? { expire_time: iso(expires) } : {}),
      ...(record.deleteTime ? { delete_time: iso(record.deleteTime) } : {}),
      ...(record.purgeTime ? { purge_time: iso(record.purgeTime) } : {}),
      state_change_time: iso(record.stateChangeTime),
    },
  };
}
