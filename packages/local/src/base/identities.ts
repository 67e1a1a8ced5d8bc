/** Workspace identities: users (email → stable numeric id) and the headers Databricks Apps adds. */
import { createHash } from 'node:crypto';

/** An email as Lakebase takes it for a role name: no quotes or spaces, at most 63 bytes. */
export const EMAIL = /^[^\s@"]+@[^\s@"]+$/;
/** A service principal's application id. */
export const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** A Databricks-style numeric user id, stable for an email. */
export function userId(email: string): string {
  const digest = createHash('sha256').update(email.toLowerCase()).digest();
  return ((digest.readBigUInt64BE(0) % 9_000_000_000_000_000n) + 1_000_000_000_000_000n).toString();
}

export function assertEmail(email: string): void {
  if (typeof email !== 'string' || !EMAIL.test(email) || Buffer.byteLength(email) > 63) {
    throw new TypeError(
      `Not a usable user email (max 63 chars, no quotes or spaces): ${JSON.stringify(email)}`,
    );
  }
}

/** The four headers the Databricks Apps proxy adds for a signed-in user. */
export function forwardedUserHeaders(email: string, accessToken: string): Record<string, string> {
  return {
    'x-forwarded-access-token': accessToken,
    'x-forwarded-email': email,
    'x-forwarded-user': userId(email),
    'x-forwarded-preferred-username': email,
  };
}
