import type { ColumnType, Generated } from 'kysely';

// What `lakebase-kit exec -- kysely-codegen --include-pattern 'app.*'` generates for the
// example migrations (hand-trimmed).
export interface AppNotes {
  id: Generated<number>;
  owner: Generated<string>;
  body: string;
  tag: Generated<string>;
  created_at: ColumnType<Date, Date | string | undefined, Date | string>;
}

export interface DB {
  'app.notes': AppNotes;
}
