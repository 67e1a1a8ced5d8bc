/**
 * What a cloned data directory does when it starts, as signal files and server settings:
 * - a hot standby (`standby.signal`) streaming from its primary's private socket through a
 *   physical slot, as the replication role;
 * - a point-in-time clone (`recovery.signal`) restoring archived WAL up to a time or an LSN,
 *   then promoting itself (`recovery_target_action = 'promote'`); no connections before that
 *   (`hot_standby = off`), so the server says it is ready only once promoted;
 * - a plain clone (no signal file) replays the WAL copied with it, as after a crash, and opens.
 * And the primary's side of point-in-time: archiving every WAL segment to a directory.
 */
import fs from 'node:fs/promises';
import path from 'node:path';
import type { OsUser } from '../runtime/os-user.js';

export interface StandbySource {
  /** The directory of the primary's private socket. */
  socketDir: string;
  port: number;
  /** The physical slot that keeps the primary's WAL for this standby. */
  slot: string;
  /** The replication role (trusted for replication on the private socket). */
  user: string;
  /** How the standby shows in the primary's `pg_stat_replication`. */
  applicationName: string;
}

/** A time as RFC 3339 text (microseconds kept), or an LSN. */
export type RecoveryTarget = { time: string } | { lsn: string };

/** A Postgres setting's value in single quotes (for conninfo and shell words alike). */
function quoted(value: string): string {
  if (/['\\\s]/.test(value)) {
    throw new Error(`Not usable in a Postgres setting (quote, backslash or space): ${value}`);
  }
  return `'${value}'`;
}

/**
 * RFC 3339 as `recovery_target_time` takes it: a space for the `T`, and a numeric offset for
 * `Z` (it refuses time zone abbreviations, `Z` included).
 */
function targetTime(text: string): string {
  const match = /^(\d{4}-\d\d-\d\d)T(\d\d:\d\d:\d\d(?:\.\d+)?)(Z|[+-]\d\d:\d\d)$/.exec(text);
  if (!match) throw new Error(`Not an RFC 3339 time: ${text}`);
  return `${match[1]} ${match[2]}${match[3] === 'Z' ? '+00:00' : match[3]}`;
}

async function signal(pgdata: string, name: string, owner?: OsUser): Promise<void> {
  const file = path.join(pgdata, name);
  await fs.writeFile(file, '', { mode: 0o600 });
  if (owner) await fs.chown(file, owner.uid, owner.gid);
}

/** Makes `pgdata` a hot standby of `source`; returns its settings. */
export async function standby(
  pgdata: string,
  source: StandbySource,
  owner?: OsUser,
): Promise<Record<string, string>> {
  await signal(pgdata, 'standby.signal', owner);
  const conninfo = [
    `host=${quoted(source.socketDir)}`,
    `port=${source.port}`,
    `user=${source.user}`,
    `application_name=${source.applicationName}`,
  ].join(' ');
  return {
    primary_conninfo: conninfo,
    primary_slot_name: source.slot,
    hot_standby: 'on',
    hot_standby_feedback: 'on',
  };
}

/** Makes `pgdata` recover from `archiveDir` up to `target`, then promote; returns settings. */
export async function pointInTime(
  pgdata: string,
  archiveDir: string,
  target: RecoveryTarget,
  owner?: OsUser,
): Promise<Record<string, string>> {
  await signal(pgdata, 'recovery.signal', owner);
  const dir = quoted(archiveDir).slice(1, -1);
  // A time keeps the commits made at it (inclusive); an LSN is the state just before it.
  return {
    restore_command: `cp '${dir}/%f' '%p'`,
    ...('time' in target
      ? { recovery_target_time: targetTime(target.time), recovery_target_inclusive: 'on' }
      : { recovery_target_lsn: target.lsn, recovery_target_inclusive: 'off' }),
    recovery_target_action: 'promote',
    hot_standby: 'off',
  };
}

/** The settings that archive every finished WAL segment of a primary to `archiveDir`. */
export function archiving(archiveDir: string): Record<string, string> {
  const dir = quoted(archiveDir).slice(1, -1);
  return {
    archive_mode: 'on',
    archive_command: `test ! -f '${dir}/%f' && cp '%p' '${dir}/%f'`,
  };
}
