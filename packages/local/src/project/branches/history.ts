/**
 * The main branch's local history, for branches at an earlier point (`source_branch_time`,
 * `source_branch_lsn`): with `historyRetentionSeconds`, the main Postgres archives every WAL
 * segment to `<dataDir>/history/wal` (`archive_mode`), and an anchor base backup is taken right
 * after it starts (`<dataDir>/history/base`). A clone at time T or LSN L is that backup, recovered
 * from the archive up to T or L (`recovery_target_time`/`_lsn`), then promoted. The window runs
 * from the anchor (or `now - retention`, if later) to now; outside it: `BranchHistoryError`.
 */
import fs from 'node:fs/promises';
import path from 'node:path';
import { BranchHistoryError, type BranchPoint } from '../../base/branch-types.js';
import { lsnReached } from '../../base/lsn.js';
import { type BaseBackup, baseBackup } from '../../postgres/clone/base-backup.js';
import { copyTree } from '../../postgres/clone/copy-tree.js';
import { archiving, pointInTime } from '../../postgres/clone/recovery.js';
import type { OsUser } from '../../postgres/runtime/os-user.js';
import type { Instance } from '../compute/instance.js';

const ARCHIVE_WAIT_MS = 30_000;

export class History {
  readonly #dir: string;
  readonly #retentionMs: number;
  #anchor: BaseBackup | undefined;

  constructor(root: string, retentionSeconds: number) {
    this.#dir = path.join(root, 'history');
    this.#retentionMs = retentionSeconds * 1000;
  }

  get #archive(): string {
    return path.join(this.#dir, 'wal');
  }

  get #base(): string {
    return path.join(this.#dir, 'base');
  }

  /** A fresh, empty archive (owned by the OS user Postgres runs as); its server settings. */
  async prepare(owner: OsUser | undefined): Promise<Record<string, string>> {
    await fs.rm(this.#dir, { recursive: true, force: true });
    await fs.mkdir(this.#archive, { recursive: true, mode: 0o700 });
    await fs.chmod(this.#dir, 0o755);
    if (owner) await fs.chown(this.#archive, owner.uid, owner.gid);
    return archiving(this.#archive);
  }

  /**
   * The anchor: a base backup of the running main Postgres, once the WAL up to its end is
   * archived (waited for here: `pg_backup_stop` itself would check only once a second).
   */
  async anchor(main: Instance): Promise<void> {
    const backup = await baseBackup(main.backupSource, this.#base, {
      wal: false,
      owner: main.osUser,
    });
    const { rows } = await main.admin.sql('select pg_walfile_name($1::pg_lsn) as segment', [
      backup.stopLsn,
    ]);
    await this.#archived(main, rows[0].segment as string);
    this.#anchor = backup;
  }

  /** Throws `BranchHistoryError` unless `point` of the main branch is inside the window. */
  async check(main: Instance, point: BranchPoint): Promise<void> {
    if (point.kind === 'now') return;
    const anchor = this.#anchor;
    const asked = point.kind === 'time' ? `time ${point.text}` : `LSN ${point.lsn}`;
    if (!anchor) {
      throw new BranchHistoryError(
        `The ${asked} is outside the local retention window: this local Lakebase keeps no ` +
          'history (start it with historyRetentionSeconds to branch at an earlier point)',
      );
    }
    const { rows } = await main.admin.sql(
      'select clock_timestamp() as now, pg_current_wal_insert_lsn()::text as lsn',
    );
    const now = rows[0].now as Date;
    const from = new Date(Math.max(anchor.stopTime.getTime(), now.getTime() - this.#retentionMs));
    const window = `${from.toISOString()} (${anchor.stopLsn}) to now (${rows[0].lsn})`;
    const outside =
      point.kind === 'time'
        ? point.time < from || point.time > now
        : !lsnReached(point.lsn, anchor.stopLsn) || !lsnReached(rows[0].lsn, point.lsn);
    if (outside) {
      throw new BranchHistoryError(
        `The ${asked} is outside the local retention window, ${window}: the local history ` +
          'starts when the local Lakebase starts',
      );
    }
  }

  /**
   * Copies the anchor to `pgdata` set to recover up to `point` and promote; returns the
   * settings it starts with. The main branch first writes a commit past the target and
   * switches WAL segments, so that recovery finds its target in the archive.
   */
  async clone(main: Instance, point: BranchPoint, pgdata: string): Promise<Record<string, string>> {
    if (point.kind === 'now') throw new Error('a clone of now needs no history');
    const sql = main.admin.sql;
    await sql('select pg_current_xact_id()');
    const { rows } = await sql('select pg_walfile_name(pg_switch_wal()) as segment');
    await this.#archived(main, rows[0].segment as string);
    await copyTree(this.#base, pgdata, { owner: main.osUser });
    const target = point.kind === 'time' ? { time: point.text } : { lsn: point.lsn };
    return pointInTime(pgdata, this.#archive, target, main.osUser);
  }

  /** Resolves once `segment` is archived (`pg_stat_archiver`); a failed archiving throws. */
  async #archived(main: Instance, segment: string): Promise<void> {
    const deadline = Date.now() + ARCHIVE_WAIT_MS;
    while (true) {
      const { rows } = await main.admin.sql(
        'select last_archived_wal, last_failed_wal from pg_stat_archiver',
      );
      const { last_archived_wal: archived, last_failed_wal: failed } = rows[0];
      if (archived && archived >= segment) return;
      if (failed && failed >= segment) throw new Error(`WAL segment ${failed} failed to archive`);
      if (Date.now() > deadline) throw new Error(`WAL segment ${segment} was not archived`);
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
  }
}
