import { createLakebasePool } from '@lakebase-kit/core';

const pool = createLakebasePool();
const { rows } = await pool.query('select current_user');
console.log(rows[0].current_user); // the service principal's role: its client id
await pool.end();
