/**
 * PgBouncer's configuration as Lakebase runs it: transaction mode, one pool per database and
 * user, server connections over Postgres' private Unix socket. Its own listener is a Unix
 * socket in a private directory as well (no TCP): only the token-checking proxy reaches it,
 * so it trusts whoever does, as Postgres trusts its socket. Users are looked up in Postgres
 * (`auth_query` as the superuser), so roles made at any time are known.
 */

export const PGBOUNCER_PORT = 6432;

export interface PgBouncerSettings {
  /** The directory of Postgres' private socket, and its port number. */
  postgresSocketDir: string;
  postgresPort: number;
  /** PgBouncer's own private socket directory. */
  socketDir: string;
  /** Server connections per database and user (`default_pool_size`). */
  poolSize: number;
  /** Server connections per database across users (`max_db_connections`; 0: unlimited). */
  maxDbConnections: number;
  /** How long a client waits for a server connection, in seconds (Lakebase: 2 minutes). */
  queryWaitTimeout: number;
  /** The superuser PgBouncer looks users up as, and who may use its admin console. */
  superuser: string;
}

/** The text of its `auth_file`: the superuser alone (trust: no password is checked). */
export function pgBouncerUserList(settings: Pick<PgBouncerSettings, 'superuser'>): string {
  return `"${settings.superuser}" ""\n`;
}

/** The text of `pgbouncer.ini`. */
export function pgBouncerIni(settings: PgBouncerSettings): string {
  const lines = [
    '; written by @lakebase-kit/local on every start',
    '[databases]',
    `* = host=${settings.postgresSocketDir} port=${settings.postgresPort}`,
    '',
    '[pgbouncer]',
    'listen_addr =',
    `listen_port = ${PGBOUNCER_PORT}`,
    `unix_socket_dir = ${settings.socketDir}`,
    'unix_socket_mode = 0700',
    'auth_type = trust',
    // the superuser known up front: the admin console needs no auth_query round (which, before
    // any pooled login, would hang SHOW POOLS)
    `auth_file = ${settings.socketDir}/userlist.txt`,
    `auth_user = ${settings.superuser}`,
    'auth_query = SELECT usename, passwd FROM pg_shadow WHERE usename=$1',
    'pool_mode = transaction',
    `default_pool_size = ${settings.poolSize}`,
    `max_db_connections = ${settings.maxDbConnections}`,
    'max_client_conn = 1000',
    `query_wait_timeout = ${settings.queryWaitTimeout}`,
    `admin_users = ${settings.superuser}`,
    'ignore_startup_parameters = extra_float_digits',
    'log_connections = 0',
    'log_disconnections = 0',
  ];
  return `${lines.join('\n')}\n`;
}
