/** The doctor's report: its types, and the helpers every check writes findings with. */

import type { WorkspaceClient } from '@databricks/sdk-experimental';
import pg from 'pg';
import { LakebaseError, redactSecrets } from '../base/errors.js';
import { shellWord } from '../base/shell-word.js';
import type { LakebasePoolConfig, Queryable } from '../base/types.js';

export type DoctorStatus = 'ok' | 'warn' | 'error';

export interface DoctorCheck {
  id: string;
  status: DoctorStatus;
  /** One line: what was found. */
  finding: string;
  /** What to do about it (for `ok`, nothing to do). */
  fix: string;
  /** The objects or roles the finding is about. */
  subjects?: string[];
}

export interface DoctorReport {
  /** False when any check is an `error`. */
  ok: boolean;
  errors: number;
  warnings: number;
  checks: DoctorCheck[];
}

export interface DoctorOptions {
  /** The app's connection (its service principal): a `Lakebase`, a `pg.Pool` or a client. */
  db: Queryable;
  /** The options the app's pool was made with (for `config`, `credentials` and `tls`). */
  config?: Partial<LakebasePoolConfig>;
  /** Environment the config is read from (default `process.env`). */
  env?: NodeJS.ProcessEnv;
  /** Mint a token for the `credentials` check (default true; else a failed login tells). */
  mint?: boolean;
  /** Identities seen by `asUser(req)`: checked for a role, and for bypassing RLS. */
  identities?: readonly string[];
  /** Schemas the app uses (default: every schema but the system ones and an empty `public`). */
  schemas?: readonly string[];
  /** The role that must own the app's objects (default: the role `db` logs in as). */
  appRole?: string;
  /** The workspace client for minting (default: the config's). */
  workspaceClient?: WorkspaceClient;
  /** How `asUser(req)` reaches Postgres (`userPools.mode`, default `login`): for `set-role`. */
  mode?: 'login' | 'set-role' | 'auto';
}

export const OK_FIX = '';

export const message = (error: unknown) =>
  error instanceof LakebaseError
    ? error.message
    : redactSecrets(error instanceof Error ? error.message : String(error), 400);

export function summarize(items: string[], max = 5): string {
  return items.length <= max
    ? items.join(', ')
    : `${items.slice(0, max).join(', ')} and ${items.length - max} more`;
}

/** `schema.relation`, each part quoted as an identifier. */
export function qualified(schema: string, relation: string): string {
  return `${pg.escapeIdentifier(schema)}.${pg.escapeIdentifier(relation)}`;
}

/** `--schema=<name>` for pg_dump, as one shell word (its pattern quoted when it must be). */
export function dumpSchemaFlag(schema: string): string {
  return /^[a-z_][a-z0-9_]*$/.test(schema)
    ? `--schema=${schema}`
    : shellWord(`--schema=${pg.escapeIdentifier(schema)}`);
}

/** Runs every check; see the file comment. */
