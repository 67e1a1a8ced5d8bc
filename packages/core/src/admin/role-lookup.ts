/** Which Postgres roles exist (any role can read `pg_roles`). */
import { ROLE_EXISTS_SQL } from '../base/role-name.js';
import type { Queryable } from '../base/types.js';

/** True when `pg_roles` has `role`. */
export async function roleExists(db: Queryable, role: string): Promise<boolean> {
  const { rows } = await db.query(ROLE_EXISTS_SQL, [role]);
  return rows.length > 0;
}

/** The identities of `identities` that have no Postgres role (one query, order kept). */
export async function missingRoles(
  db: Queryable,
  identities: readonly string[],
): Promise<string[]> {
  const unique = [...new Set(identities)];
  if (unique.length === 0) return [];
  const { rows } = await db.query(
    'select rolname from pg_catalog.pg_roles where rolname = any($1::text[])',
    [unique],
  );
  const present = new Set(rows.map((row: { rolname: string }) => row.rolname));
  return unique.filter((identity) => !present.has(identity));
}
