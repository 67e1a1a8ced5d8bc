/** Workspace identities: the service principal and users (email → stable numeric id). */
import { createHash, randomBytes, randomUUID } from 'node:crypto';
import type { ServicePrincipal } from './types.js';

export function newServicePrincipal(): ServicePrincipal {
  return {
    clientId: randomUUID(),
    clientSecret: `dose${randomBytes(24).toString('hex')}`,
    pat: `dapi${randomBytes(16).toString('hex')}`,
  };
}

/** A Databricks-style numeric user id, stable for an email. */
export function userId(email: string): string {
  const digest = createHash('sha256').update(email.toLowerCase()).digest();
  return ((digest.readBigUInt64BE(0) % 9_000_000_000_000_000n) + 1_000_000_000_000_000n).toString();
}

const EMAIL = /^[^\s@"]+@[^\s@"]+$/;

export function assertEmail(email: string): void {
  if (typeof email !== 'string' || !EMAIL.test(email) || Buffer.byteLength(email) > 63) {
    throw new TypeError(
      `Not a usable user email (max 63 chars, no quotes or spaces): ${JSON.stringify(email)}`,
    );
  }
}
