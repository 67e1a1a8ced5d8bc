/** `pg.PoolConfig` → the TypeORM / Sequelize shape (`username`, simplified `ssl`). */
import type pg from 'pg';
import type { OrmConfig } from './types.js';

export function toOrmConfig(config: pg.PoolConfig, username: string): OrmConfig {
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
