/**
 * Postgres role names of Databricks identities: the 63-byte bound (Postgres cuts longer names,
 * so a 64-byte identity would act as the 63-byte one that is its prefix), what kind of identity
 * a name is, whether a role exists, and the commands that create one (shell-quoted). The one
 * place that builds role names and create-role commands.
 */
import { branchOrPlaceholder } from './endpoint-path.js';
import { shellWord } from './shell-word.js';

/** Longest role name Postgres keeps (NAMEDATALEN − 1), in UTF-8 bytes. */
export const MAX_ROLE_NAME_BYTES = 63;

export type IdentityType = 'USER' | 'SERVICE_PRINCIPAL' | 'GROUP';

/** A workspace user's email (its Postgres role). */
export const EMAIL_PATTERN = /^[^\s@"]+@[^\s@"]+$/;
/** A service principal's application id (its Postgres role). */
export const UUID_PATTERN = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** USER for an email, SERVICE_PRINCIPAL for an application id (UUID), else undefined. */
export function inferIdentityType(identity: string): IdentityType | undefined {
  if (EMAIL_PATTERN.test(identity)) return 'USER';
  if (UUID_PATTERN.test(identity)) return 'SERVICE_PRINCIPAL';
  return undefined;
}

/** Why `name` cannot be a Postgres role name as it is, or undefined when it can. */
export function roleNameProblem(name: string): string | undefined {
  if (name.length === 0) return 'it is empty';
  const bytes = Buffer.byteLength(name, 'utf8');
  if (bytes > MAX_ROLE_NAME_BYTES) {
    return (
      `it is ${bytes} bytes long, and Postgres role names are at most ${MAX_ROLE_NAME_BYTES} ` +
      'bytes (a longer name would be cut to another role)'
    );
  }
  if (name.includes('\u0000')) return 'it contains a NUL character';
  return undefined;
}

/** The SQL that tells whether a role exists (readable by any role, the SP included). */
export const ROLE_EXISTS_SQL = 'select 1 from pg_catalog.pg_roles where rolname = $1';

/** The commands that create the role of `identity` (the kit's, and the Databricks CLI's). */
export function createRoleCommands(
  identity: string,
  options: { branch?: string; identityType?: IdentityType } = {},
): { kit: string; databricks: string } {
  const inferred = inferIdentityType(identity);
  const type = options.identityType ?? inferred ?? 'GROUP';
  const typeFlag = type === inferred ? '' : ` --type ${type}`;
  const spec = JSON.stringify({ spec: { identity_type: type, postgres_role: identity } });
  const branch = options.branch ?? branchOrPlaceholder(undefined);
  return {
    kit: `lakebase-kit roles add ${shellWord(identity)}${typeFlag}`,
    databricks: `databricks postgres create-role ${shellWord(branch)} --json ${shellWord(spec)}`,
  };
}
