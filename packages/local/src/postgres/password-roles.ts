/**
 * Native Postgres password roles (Lakebase's `PG_PASSWORD_SCRAM_SHA_256`): a LOGIN role whose
 * password Postgres keeps as a SCRAM-SHA-256 secret in `pg_authid`. The role is created with
 * the secret computed here, so the password itself is never sent in SQL (and so never shows in
 * a server log line). A login is checked against what Postgres has stored right then, so a
 * password changed with `ALTER ROLE ... PASSWORD` counts at once.
 */
import { createHash, createHmac, pbkdf2Sync, randomBytes, timingSafeEqual } from 'node:crypto';
import type { Admin, Query } from './admin.js';
import { createIdentityRoleStatements, ident, literal } from './role-sql.js';

const ITERATIONS = 4096;

const hmac = (key: Buffer, text: string) => createHmac('sha256', key).update(text).digest();
const sha256 = (data: Buffer) => createHash('sha256').update(data).digest();

/** `SCRAM-SHA-256$<iterations>:<salt>$<StoredKey>:<ServerKey>`, as Postgres stores it. */
export function scramSecret(password: string, salt = randomBytes(16), iterations = ITERATIONS) {
  const salted = pbkdf2Sync(password.normalize('NFKC'), salt, iterations, 32, 'sha256');
  const storedKey = sha256(hmac(salted, 'Client Key'));
  const serverKey = hmac(salted, 'Server Key');
  return `SCRAM-SHA-256$${iterations}:${salt.toString('base64')}$${storedKey.toString('base64')}:${serverKey.toString('base64')}`;
}

/** True when `password` matches the SCRAM secret `stored`. */
export function matchesScram(stored: string, password: string): boolean {
  const match = /^SCRAM-SHA-256\$(\d+):([^$]+)\$([^:]+):(.+)$/.exec(stored);
  if (!match) return false;
  const [, iterations, salt, storedKey] = match as unknown as [string, string, string, string];
  const expected = Buffer.from(storedKey, 'base64');
  const salted = pbkdf2Sync(
    password.normalize('NFKC'),
    Buffer.from(salt, 'base64'),
    Number(iterations),
    32,
    'sha256',
  );
  const actual = sha256(hmac(salted, 'Client Key'));
  return actual.length === expected.length && timingSafeEqual(actual, expected);
}

/**
 * Creates a password role as the project owner would (administered by the owner, CONNECT on
 * the database) and returns its new password. Fails if the role exists.
 */
export async function createPasswordRole(
  admin: Admin,
  database: string,
  owner: string,
  name: string,
): Promise<string> {
  const password = randomBytes(24).toString('base64url');
  const exists = await admin.sql('select 1 from pg_roles where rolname = $1', [name]);
  if (exists.rowCount) throw new Error(`Role "${name}" already exists`);
  await admin.sql(
    [
      ...createIdentityRoleStatements(database, owner, name, { login: true }),
      `alter role ${ident(name)} password ${literal(scramSecret(password))}`,
    ].join(';\n'),
  );
  return password;
}

/** True when `user` is a LOGIN role with a SCRAM password that `password` matches. */
export async function checkPassword(sql: Query, user: string, password: string) {
  const { rows } = await sql(
    `select rolpassword from pg_authid
     where rolname = $1 and rolcanlogin and (rolvaliduntil is null or rolvaliduntil > now())`,
    [user],
  );
  const stored = rows[0]?.rolpassword as string | null | undefined;
  return typeof stored === 'string' && matchesScram(stored, password);
}
