import { createLakebase, LakebaseError } from '@lakebase-kit/core';
import express from 'express';

const lakebase = createLakebase({
  // everything createLakebasePool() accepts, plus:
  userPools: { max: 3, maxConnections: 50, maxPools: 1000, idleTimeoutMillis: 30_000 },
});

// once, as the service principal: the repository's one RLS and grants recipe (docs/rls.md) —
// the SP owns schema and table, a policy owner = current_user, USAGE and table grants to PUBLIC
await lakebase.query('create schema if not exists app');
await lakebase.query(`create table if not exists app.notes (
  id integer primary key generated always as identity,
  owner text not null default current_user,
  body text not null)`);
await lakebase.query('alter table app.notes enable row level security');
await lakebase.query('drop policy if exists notes_owner on app.notes');
await lakebase.query(`create policy notes_owner on app.notes for all to public
  using (owner = current_user) with check (owner = current_user)`);
await lakebase.query('grant usage on schema app to public');
await lakebase.query('grant select, insert on app.notes to public');

const app = express();
app.get('/notes', async (req, res, next) => {
  try {
    // synchronous: no I/O for a user seen before with this token
    const { rows } = await lakebase.asUser(req).query('select id, body from app.notes');
    res.json(rows); // only this user's rows
  } catch (error) {
    if (error instanceof LakebaseError) res.status(error.status).json({ error: error.code });
    else next(error); // Express 4 ignores what an async handler throws
  }
});
const server = app.listen(8000);

process.on('SIGTERM', async () => {
  server.close();
  await lakebase.close(); // accepted work finishes; SP pool + every user pool end
});
