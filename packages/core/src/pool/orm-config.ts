/** `pg.PoolConfig` → the TypeORM / Sequelize shape (`username`, simplified `ssl`). */
import type pg from 'pg';
import { ConfigurationError } from '../base/errors.js';
import type { OrmConfig } from '../base/types.js';

export function toOrmConfig(
  config: pg.PoolConfig,
  username: string | undefined,
  caller: string,
): OrmConfig {
  if (!username) {
    throw new ConfigurationError(
      `${caller} needs the Postgres user up front: set option "user" or env PGUSER ` +
        '(or DATABRICKS_CLIENT_ID for a service principal)',
      { option: 'user', envVar: 'PGUSER' },
    );
  }
  const { user: _user, password, ssl, Client: _client, host, port, database, ...rest } = config;
  const ormSsl: OrmConfig['ssl'] =
    ssl === false || ssl === undefined
      ? false
      : ssl === true
        ? true
        : {
            rejectUnauthorized: ssl.rejectUnauthorized !== false,
            ...(ssl.ca ? { ca: ssl.ca as string | Buffer } : {}),
            ...(ssl.servername ? { servername: ssl.servername } : {}),
          };
  return {
    ...rest,
    host: host as string,
    port: port as number,
    database: database as string,
    username,
    password: password as OrmConfig['password'],
    ssl: ormSsl,
  };
}
