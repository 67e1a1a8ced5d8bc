/**
 * Where PgBouncer is: `$LAKEBASE_KIT_PGBOUNCER`, else Debian's `/usr/sbin/pgbouncer`, else the
 * first `pgbouncer` on PATH. Without one, `PoolerUnavailableError` names the package.
 */
import { constants } from 'node:fs';
import fs from 'node:fs/promises';
import path from 'node:path';

/** The environment variable naming the PgBouncer binary to run. */
export const PGBOUNCER_ENV = 'LAKEBASE_KIT_PGBOUNCER';
const DEBIAN = '/usr/sbin/pgbouncer';

/** `startLocalLakebase({ pooler })` without a PgBouncer to run; says how to install one. */
export class PoolerUnavailableError extends Error {
  override name = 'PoolerUnavailableError';
  /** The command that installs it (Debian, Ubuntu). */
  readonly install = 'apt-get install pgbouncer';

  constructor(detail: string) {
    super(
      `The local Lakebase's pooler runs PgBouncer, and ${detail}. Fix: install Debian's ` +
        `pgbouncer package (apt-get install pgbouncer), or set ${PGBOUNCER_ENV} to a pgbouncer ` +
        'binary (1.18 or later)',
    );
  }
}

async function executable(file: string): Promise<boolean> {
  try {
    await fs.access(file, constants.X_OK);
    return (await fs.stat(file)).isFile();
  } catch {
    return false;
  }
}

/** The PgBouncer binary to run; throws `PoolerUnavailableError` when there is none. */
export async function findPgBouncer(env: NodeJS.ProcessEnv = process.env): Promise<string> {
  const configured = env[PGBOUNCER_ENV]?.trim();
  if (configured) {
    if (await executable(configured)) return configured;
    throw new PoolerUnavailableError(`${PGBOUNCER_ENV}=${configured} is not an executable file`);
  }
  if (await executable(DEBIAN)) return DEBIAN;
  for (const dir of (env.PATH ?? '').split(path.delimiter).filter(Boolean)) {
    const candidate = path.join(dir, 'pgbouncer');
    if (await executable(candidate)) return candidate;
  }
  throw new PoolerUnavailableError(`no pgbouncer binary was found (${DEBIAN}, PATH)`);
}
