/** Shared helpers of the on-behalf-of tests. */
import type { LocalLakebase } from '@lakebase-kit/local';
import type { Logger } from '../../src/base/logger.js';

export const ALICE = 'alice@example.com';
export const BOB = 'bob@example.com';

/** A logger that keeps every line, to assert that no secret ever reaches it. */
export function capturingLogger(): Logger & { lines: string[] } {
  const lines: string[] = [];
  const push =
    (level: string) =>
    (message: string, ...args: unknown[]) => {
      lines.push(`${level} ${message} ${args.map((a) => String(a)).join(' ')}`);
    };
  return {
    lines,
    debug: push('debug'),
    info: push('info'),
    warn: push('warn'),
    error: push('error'),
  };
}

/** Forwarded headers with a fresh token (no addUser round trip; the role must exist). */
export function headersFor(lb: LocalLakebase, email: string): Record<string, string> {
  return { 'x-forwarded-access-token': lb.userToken(email), 'x-forwarded-email': email };
}

/** One batch creating many user roles (LOGIN, NOSUPERUSER, NOBYPASSRLS, CONNECT). */
export async function createRoles(lb: LocalLakebase, emails: string[]): Promise<void> {
  const quoted = emails.map((e) => `"${e.replaceAll('"', '""')}"`);
  const statements = quoted.map((q) => `create role ${q} login nosuperuser nobypassrls;`);
  await lb.sql(
    `${statements.join('\n')}\ngrant connect on database "${lb.database}" to ${quoted.join(', ')};`,
  );
}

/**
 * The RLS fixture: `public.notes(owner, body)` owned by the SP, policy `owner = current_user`.
 * On Lakebase the SP may only create its own schemas; `public` belongs to the project owner, who
 * lets the SP create in it first (here as the superuser, with the same effect).
 */
export async function createNotesTable(
  lb: LocalLakebase,
  query: (text: string) => Promise<unknown>,
  readers: string[],
): Promise<void> {
  await lb.sql(`grant create on schema public to "${lb.env.PGUSER}"`);
  const roles = readers.map((r) => `"${r.replaceAll('"', '""')}"`).join(', ');
  await query(`create table if not exists notes (
    id serial primary key,
    owner text not null default current_user,
    body text not null)`);
  await query('alter table notes enable row level security');
  await query('drop policy if exists notes_owner on notes');
  await query('create policy notes_owner on notes using (owner = current_user)');
  await query(`grant select, insert on notes to ${roles}`);
  await query(`grant usage on sequence notes_id_seq to ${roles}`);
}

/** Asserts that none of `secrets` occurs in any of `texts`. */
export function findSecrets(texts: string[], secrets: string[]): string[] {
  return texts.filter((text) => secrets.some((secret) => secret && text.includes(secret)));
}
