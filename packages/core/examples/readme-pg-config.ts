import { getLakebaseOrmConfig, getLakebasePgConfig } from '@lakebase-kit/core';
import pg from 'pg';

// A pg.PoolConfig: password function, ssl, the LakebaseClient class.
export const pool = new pg.Pool(getLakebasePgConfig());

// TypeORM / Sequelize style: { host, port, database, username, password: () => Promise<string>, ssl, ...pool options }
export const orm = getLakebaseOrmConfig();
// new DataSource({ type: 'postgres', ...orm, entities: [User] });
// new Sequelize({ dialect: 'postgres', ...orm });
