import { createLakebasePool } from '@lakebase-kit/core';
import { startLocalLakebase } from '@lakebase-kit/local';

const lb = await startLocalLakebase();
Object.assign(process.env, lb.env); // what `lakebase-kit dev` writes to .env.local

const pool = createLakebasePool({ logger: { debug: true, error: true } });
const { rows } = await pool.query('select current_user as me');
console.log(rows[0].me === process.env.DATABRICKS_CLIENT_ID); // true: the SP's client id
await pool.end();
await lb.stop();
