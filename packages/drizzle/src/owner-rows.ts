/**
 * The guide's row-level security, for Drizzle: `ownerPolicy(t.owner)` is the policy
 * `owner = current_user` (drizzle-kit generates it, and turns RLS on with it), and
 * `ownerPolicyGrants(table)` the grants it needs (USAGE on the schema, SELECT and INSERT on the
 * table, USAGE on its serial sequences, to PUBLIC), as the SQL of a drizzle-kit custom
 * migration (`drizzle-kit generate --custom`): drizzle-kit does not generate GRANTs.
 */
import { getTableName, is, sql } from 'drizzle-orm';
import {
  type AnyPgColumn,
  getTableConfig,
  type PgPolicy,
  type PgPolicyToOption,
  PgRole,
  type PgTable,
  pgPolicy,
} from 'drizzle-orm/pg-core';

export type OwnerPolicyCommand = 'all' | 'select' | 'insert' | 'update' | 'delete';

export interface OwnerPolicyOptions {
  /** Default `<table>_owner`. */
  name?: string;
  /** Default `all`. */
  for?: OwnerPolicyCommand;
  /** The roles it applies to: default `public` (every role; the table's owner is exempt). */
  to?: PgPolicyToOption;
}

/**
 * `CREATE POLICY <table>_owner ON <table> FOR ALL TO public USING (owner = current_user)
 * WITH CHECK (owner = current_user)`: each role sees and writes only its own rows. Use it in
 * the table's extra config: `(t) => [ownerPolicy(t.owner)]`.
 */
export function ownerPolicy(owner: AnyPgColumn, options: OwnerPolicyOptions = {}): PgPolicy {
  const command = options.for ?? 'all';
  const mine = sql`${owner} = current_user`;
  return pgPolicy(options.name ?? `${getTableName(owner.table)}_owner`, {
    as: 'permissive',
    for: command,
    to: options.to ?? 'public',
    ...(command === 'insert' ? {} : { using: mine }),
    ...(command === 'select' || command === 'delete' ? {} : { withCheck: mine }),
  });
}

export type TablePrivilege = 'SELECT' | 'INSERT' | 'UPDATE' | 'DELETE';

export interface OwnerPolicyGrantsOptions {
  /** Default `['SELECT', 'INSERT']` (the guide's). */
  privileges?: TablePrivilege[];
  /** Default PUBLIC (every role; RLS keeps their rows apart). */
  to?: PgPolicyToOption;
}

const quote = (name: string) => `"${name.replaceAll('"', '""')}"`;

function grantees(to: PgPolicyToOption | undefined): string {
  const list = Array.isArray(to) ? to : [to ?? 'public'];
  return list
    .map((role) => {
      const name = is(role, PgRole) ? role.name : String(role);
      return name.toLowerCase() === 'public' ? 'PUBLIC' : quote(name);
    })
    .join(', ');
}

/**
 * The grants users need to reach `tables` through their owner policies, as the statements of a
 * drizzle-kit custom migration (separated by `--> statement-breakpoint`).
 */
export function ownerPolicyGrants(
  tables: PgTable | PgTable[],
  options: OwnerPolicyGrantsOptions = {},
): string {
  const to = grantees(options.to);
  const privileges = options.privileges ?? ['SELECT', 'INSERT'];
  const inserts = privileges.includes('INSERT');
  const statements: string[] = [];
  const schemas = new Set<string>();
  for (const table of Array.isArray(tables) ? tables : [tables]) {
    const { name, schema, columns } = getTableConfig(table);
    const qualified = (object: string) =>
      schema ? `${quote(schema)}.${quote(object)}` : quote(object);
    if (schema && !schemas.has(schema)) {
      schemas.add(schema);
      statements.push(`GRANT USAGE ON SCHEMA ${quote(schema)} TO ${to}`);
    }
    statements.push(`GRANT ${privileges.join(', ')} ON ${qualified(name)} TO ${to}`);
    for (const column of columns) {
      // serial columns draw from a sequence (identity columns need no grant)
      if (inserts && /^Pg(Small|Big)?Serial/.test(column.columnType)) {
        statements.push(
          `GRANT USAGE ON SEQUENCE ${qualified(`${name}_${column.name}_seq`)} TO ${to}`,
        );
      }
    }
  }
  return `${statements.join(';--> statement-breakpoint\n')};\n`;
}
