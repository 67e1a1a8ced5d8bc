/** A second migration, to show that the Migrator applies them in order, once. */
export async function up(db) {
  await db.schema
    .alterTable('app.notes')
    .addColumn('tag', 'text', (c) => c.notNull().defaultTo('general'))
    .execute();
}

export async function down(db) {
  await db.schema.alterTable('app.notes').dropColumn('tag').execute();
}
