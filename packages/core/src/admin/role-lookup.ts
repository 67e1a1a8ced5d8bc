/**
 * Which Postgres roles exist (any role can read `pg_roles`), and the commands that create a
 * missing one. (The message of a login rejected for a missing role is `missing-roles.ts`'.)
 */
import { ROLE_EXISTS_SQL } from '../obo/missing-roles.js';
import type { IdentityType } from './roles-api.js';

/** What provisioning and doctor need of a connection: a `Lakebase`, a `pg.Pool` or a client. */
export interface Queryable {
  // biome-ignore lint/suspicious/noExplicitAny: rows are whatever the query returns
  query(text: string, values?: unknown[]): Promise<{ rows: any[] }>;
}

const EMAIL = /^[^\s@"]+@[^\s@"]+$/;
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** USER for an email, SERVICE_PRINCIPAL for an application id (UUID), else undefined. */
export function inferIdentityType(identity: string): IdentityType | undefined {
  if (EMAIL.test(identity)) return 'USER';
  if (UUID.test(identity)) return 'SERVICE_PRINCIPAL';
  return undefined;
}

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

/** `text` as one shell word: as is when plain, else single-quoted. */
function shellWord(text: string): string {
  return /^[\w@.+:/=-]+$/.test(text) ? text : `'${text.replaceAll("'", `'\\''`)}'`;
}

/** The commands that create the role of `identity` (the kit's, and the Databricks CLI's). */
export function createRoleCommands(
  identity: string,
  options: { branch?: string; identityType?: IdentityType } = {},
): { kit: string; databricks: string } {
  const inferred = inferIdentityType(identity);
  const type = options.identityType ?? inferred ?? 'GROUP';
  const typeFlag = type === inferred ? '' : ` --type ${type}`;
  const spec = JSON.stringify({ spec: { identity_type: type, postgres_role: identity } });
  return {
    kit: `lakebase-kit roles add ${shellWord(identity)}${typeFlag}`,
    databricks: `databricks postgres create-role ${options.branch ?? 'projects/<project>/branches/<branch>'} --json ${shellWord(spec)}`,
  };
}
