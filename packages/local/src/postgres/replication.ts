/**
 * Streaming replication between the emulator's own Postgres instances: the role a read replica
 * streams as (trusted for replication on the private socket only, see server.ts' pg_hba), the
 * physical slots that keep the primary's WAL for it, and the positions (LSNs) tests wait on.
 * Every statement runs as the cluster's superuser over a private socket.
 */
import type pg from 'pg';
import { ident, literal } from './role-sql.js';

/** One superuser statement on an instance (admin.ts' `sql`; not imported: server.ts uses us). */
type Query = (text: string, values?: unknown[]) => Promise<pg.QueryResult>;

/** The role replicas stream as. Never reachable through a proxy (see the login policy). */
export const REPLICATION_ROLE = 'lakebase_replicator';

/** `REPLICATION LOGIN`, nothing else; idempotent. */
export async function ensureReplicationRole(sql: Query): Promise<void> {
  await sql(`do $$ begin
    if not exists (select 1 from pg_roles where rolname = ${literal(REPLICATION_ROLE)}) then
      create role ${ident(REPLICATION_ROLE)} replication login;
    end if;
  exception when duplicate_object or unique_violation then null;
  end $$`);
}

/** A physical slot reserving WAL from now on (kept until dropped); idempotent. */
export async function createSlot(sql: Query, slot: string): Promise<void> {
  await sql(
    `select pg_create_physical_replication_slot($1, true)
     where not exists (select 1 from pg_replication_slots where slot_name = $1)`,
    [slot],
  );
}

export async function dropSlot(sql: Query, slot: string): Promise<void> {
  await sql(
    `select pg_drop_replication_slot(slot_name) from pg_replication_slots
     where slot_name = $1 and not active`,
    [slot],
  );
}

/** Drops the inactive slots whose name starts with `prefix` (left by an earlier run). */
export async function dropSlotsLike(sql: Query, prefix: string): Promise<void> {
  await sql(
    `select pg_drop_replication_slot(slot_name) from pg_replication_slots
     where starts_with(slot_name, $1) and not active`,
    [prefix],
  );
}

/**
 * The primary's current WAL insert position: the end of everything committed so far, written
 * out or not (temp instances commit asynchronously, so the write position may lag behind).
 */
export async function currentLsn(sql: Query): Promise<string> {
  const { rows } = await sql('select pg_current_wal_insert_lsn()::text as lsn');
  return rows[0].lsn as string;
}

export interface StandbyPositions {
  /** Last WAL position received and flushed by the walreceiver (null before any). */
  received: string | null;
  /** Last WAL position replayed. */
  replayed: string | null;
  /** Replay paused by `pg_wal_replay_pause()`. */
  paused: boolean;
}

/** Where a standby is: received, replayed, paused. */
export async function standbyPositions(sql: Query): Promise<StandbyPositions> {
  const { rows } = await sql(
    `select pg_last_wal_receive_lsn()::text as received,
            pg_last_wal_replay_lsn()::text as replayed,
            pg_is_wal_replay_paused() as paused`,
  );
  return rows[0] as StandbyPositions;
}

/** Pauses (lag on) or resumes WAL replay on a standby. */
export async function setReplayPaused(sql: Query, paused: boolean): Promise<void> {
  await sql(paused ? 'select pg_wal_replay_pause()' : 'select pg_wal_replay_resume()');
}
