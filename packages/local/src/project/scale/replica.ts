/**
 * A read replica: a second Postgres started from a base backup of its primary, a hot standby
 * streaming from the primary's private socket as the replication role, through a physical
 * slot that keeps the primary's WAL for it. Its data lives in `<root>/replicas/<id>/`.
 */
import fs from 'node:fs/promises';
import path from 'node:path';
import { baseBackup } from '../../postgres/clone/base-backup.js';
import { standby } from '../../postgres/clone/recovery.js';
import {
  createSlot,
  dropSlot,
  ensureReplicationRole,
  REPLICATION_ROLE,
} from '../../postgres/replication.js';
import { Instance, type InstanceOptions } from '../compute/instance.js';

/** Slots of the local Lakebase's replicas start with this. */
export const REPLICA_SLOT_PREFIX = 'lakebase_replica_';

export interface ReplicaOptions extends Omit<InstanceOptions, 'root'> {
  primary: Instance;
  /** `read-replica-1`: the endpoint id, the standby's application name. */
  id: string;
  /** Where replicas of this primary live (`<root>/replicas`). */
  dir: string;
}

/** A hot standby of `primary`, started and consistent. */
export async function startReplica(options: ReplicaOptions): Promise<Instance> {
  const { primary, id, dir, settings, ...rest } = options;
  const sql = primary.admin.sql;
  await ensureReplicationRole(sql);
  const slot = `${REPLICA_SLOT_PREFIX}${id.replace(/[^a-z0-9]/g, '_')}`;
  await createSlot(sql, slot);
  const root = path.join(dir, id);
  await fs.rm(root, { recursive: true, force: true });
  await fs.mkdir(root, { recursive: true, mode: 0o755 });
  await fs.chmod(root, 0o755);
  const pgdata = path.join(root, 'pgdata');
  const owner = primary.osUser;
  let instance: Instance | undefined;
  try {
    await baseBackup(primary.backupSource, pgdata, { wal: false, owner });
    const standbySettings = await standby(
      pgdata,
      {
        socketDir: primary.server.socketDir,
        port: primary.server.port,
        slot,
        user: REPLICATION_ROLE,
        applicationName: id,
      },
      owner,
    );
    instance = new Instance({ ...rest, root, settings: { ...settings, ...standbySettings } });
    await instance.start();
    return instance;
  } catch (error) {
    await instance?.close();
    await dropSlot(sql, slot).catch(() => undefined);
    throw error;
  }
}

/** Stops the replica and drops its slot on the primary (so the primary keeps no WAL for it). */
export async function stopReplica(primary: Instance, id: string, replica: Instance) {
  await replica.close();
  const slot = `${REPLICA_SLOT_PREFIX}${id.replace(/[^a-z0-9]/g, '_')}`;
  await dropSlot(primary.admin.sql, slot).catch(() => undefined);
}
