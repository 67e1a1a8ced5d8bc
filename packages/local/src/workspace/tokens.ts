/** Opaque tokens minted by the emulator: Postgres passwords and workspace bearer tokens. */
import { randomBytes } from 'node:crypto';

export type TokenKind = 'pg' | 'access';

interface TokenRecord {
  identity: string;
  kind: TokenKind;
  expiresAt: number;
  revoked: boolean;
}

export interface Minted {
  token: string;
  expiresAt: number;
}

const PREFIX: Record<TokenKind, string> = { pg: 'lbk_pg_', access: 'lbk_at_' };

/** Stores every minted token by value; several tokens per identity are valid at once. */
export class TokenStore {
  readonly #tokens = new Map<string, TokenRecord>();
  readonly #now: () => number;

  constructor(now: () => number = Date.now) {
    this.#now = now;
  }

  /** Mints a token; `ttlSeconds <= 0` mints an already-expired token. Expiry is whole seconds. */
  mint(identity: string, kind: TokenKind, ttlSeconds: number): Minted {
    const token = PREFIX[kind] + randomBytes(32).toString('base64url');
    const expiresAt = Math.floor((this.#now() + ttlSeconds * 1000) / 1000) * 1000;
    this.#tokens.set(token, { identity, kind, expiresAt, revoked: false });
    this.#prune();
    return { token, expiresAt };
  }

  /** The identity a valid token of `kind` belongs to, or undefined. */
  verify(token: string, kind: TokenKind): string | undefined {
    const record = this.#tokens.get(token);
    if (!record || record.kind !== kind || record.revoked) return undefined;
    if (this.#now() >= record.expiresAt) return undefined;
    return record.identity;
  }

  /** Revokes every token of `kind` minted so far for `identity`. */
  revoke(identity: string, kind: TokenKind): number {
    let count = 0;
    for (const record of this.#tokens.values()) {
      if (record.identity === identity && record.kind === kind && !record.revoked) {
        record.revoked = true;
        count++;
      }
    }
    return count;
  }

  #prune(): void {
    if (this.#tokens.size < 10_000) return;
    const now = this.#now();
    for (const [token, record] of this.#tokens) {
      if (record.expiresAt <= now) this.#tokens.delete(token);
    }
  }
}

/** RFC 3339 UTC without fractional seconds, as the credential API answers. */
export function rfc3339(ms: number): string {
  return new Date(ms).toISOString().replace(/\.\d{3}Z$/, 'Z');
}
