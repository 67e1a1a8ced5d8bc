import { sql } from 'kysely';

/** Runs as the service principal: it creates and owns the schema and the table. */
export async function up(db) {
  await db.schema.createSchema('app').execute();
  await db.schema
    .createTable('app.notes')
    .addColumn('id', 'integer', (c) => c.primaryKey().generatedAlwaysAsIdentity())
    .addColumn('owner', 'text', (c) => c.notNull().defaultTo(sql`current_user`))
    .addColumn('body', 'text', (c) => c.notNull())
    .addColumn('created_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .execute();
  // Row-level security: each user sees and writes only their own rows.
  await sql`alter table app.notes enable row level security`.execute(db);
  await sql`create policy notes_owner on app.notes for all to public
    using (owner = current_user) with check (owner = current_user)`.execute(db);
  await sql`grant usage on schema app to public`.execute(db);
  await sql`grant select, insert, update, delete on app.notes to public`.execute(db);
}

export async function down(db) {
  await db.schema.dropSchema('app').cascade().execute();
}
