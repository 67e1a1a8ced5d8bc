/**
 * Binds a forwarded token to its identity: asks the workspace who owns the token (SCIM `Me`,
 * called with that token, once per token fingerprint) and checks that the owner is the identity
 * the request claims. A mismatch is an `AuthenticationError` (401).
 */
import { AuthenticationError, CredentialError } from './errors.js';
import { LruMap } from './lru-map.js';
import type { UserClientCache } from './user-clients.js';

/** Who a token belongs to, as SCIM `Me` reports it. */
export interface TokenOwner {
  id: string | undefined;
  userName: string | undefined;
  emails: string[];
}

/** True when `identity` names the owner (user name, an email, or the SCIM id; case-insensitive). */
export function ownsIdentity(owner: TokenOwner, identity: string): boolean {
  const wanted = identity.toLowerCase();
  return [owner.userName, owner.id, ...owner.emails].some(
    (name) => typeof name === 'string' && name.toLowerCase() === wanted,
  );
}

export interface IdentityVerifierOptions {
  clients: UserClientCache;
  /** How many token owners to remember. Default 10 000. */
  max?: number;
  /** Give up on one SCIM `Me` call after this long. Default 30000. */
  timeoutMs?: number;
}

export interface IdentityVerifierStats {
  /** SCIM `Me` calls made. */
  lookups: number;
  verifications: number;
  verificationFailures: number;
}

export class IdentityVerifier {
  private readonly owners: LruMap<string, Promise<TokenOwner>>;
  private readonly clients: UserClientCache;
  private readonly timeoutMs: number;
  private lookups = 0;
  private verifications = 0;
  private verificationFailures = 0;

  constructor(options: IdentityVerifierOptions) {
    this.clients = options.clients;
    this.owners = new LruMap(options.max ?? 10_000);
    this.timeoutMs = options.timeoutMs ?? 30_000;
  }

  /**
   * Resolves when the token (fingerprint `fingerprint`) belongs to `identity`.
   * @throws AuthenticationError (401) when it belongs to someone else or the workspace rejects it
   * @throws CredentialError when the workspace could not be asked (retryable; not cached)
   */
  async verify(identity: string, fingerprint: string, token: string): Promise<void> {
    let owner: TokenOwner;
    try {
      owner = await this.owner(fingerprint, token);
    } catch (error) {
      this.verificationFailures++;
      throw error;
    }
    if (!ownsIdentity(owner, identity)) {
      this.verificationFailures++;
      throw new AuthenticationError(
        `The forwarded access token does not belong to "${identity}" (x-forwarded-email / x-forwarded-user)`,
      );
    }
    this.verifications++;
  }

  stats(): IdentityVerifierStats {
    return {
      lookups: this.lookups,
      verifications: this.verifications,
      verificationFailures: this.verificationFailures,
    };
  }

  clear(): void {
    this.owners.clear();
  }

  private owner(fingerprint: string, token: string): Promise<TokenOwner> {
    const cached = this.owners.get(fingerprint);
    if (cached) return cached;
    const lookup = this.lookup(fingerprint, token);
    this.owners.set(fingerprint, lookup);
    // failures are not remembered: the next request asks again
    lookup.catch(() => {
      if (this.owners.peek(fingerprint) === lookup) this.owners.delete(fingerprint);
    });
    return lookup;
  }

  private async lookup(fingerprint: string, token: string): Promise<TokenOwner> {
    const client = await this.clients.get(fingerprint, token);
    this.lookups++;
    let me: { id?: string; userName?: string; emails?: Array<{ value?: string }> };
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(
        () =>
          reject(
            new CredentialError(
              `Could not verify the forwarded access token: SCIM Me did not answer within ${this.timeoutMs} ms`,
              { retryable: true },
            ),
          ),
        this.timeoutMs,
      );
      timer.unref();
    });
    try {
      const call = client.currentUser.me();
      call.catch(() => {});
      me = await Promise.race([call, timeout]);
    } catch (error) {
      throw error instanceof CredentialError ? error : scimError(error);
    } finally {
      clearTimeout(timer);
    }
    return {
      id: me.id,
      userName: me.userName,
      emails: (me.emails ?? [])
        .map((email) => email.value)
        .filter((value): value is string => typeof value === 'string'),
    };
  }
}

function scimError(error: unknown): Error {
  const details = error as { statusCode?: unknown; code?: unknown; errorCode?: unknown };
  const status =
    typeof details.statusCode === 'number'
      ? details.statusCode
      : typeof details.code === 'number'
        ? details.code
        : undefined;
  const errorCode = typeof details.errorCode === 'string' ? details.errorCode : undefined;
  if (status === 401 || status === 403) {
    return new AuthenticationError(
      `The workspace rejected the forwarded access token (HTTP ${status}${errorCode ? ` ${errorCode}` : ''})`,
    );
  }
  const reason = error instanceof Error ? error.message : String(error);
  return new CredentialError(`Could not verify the forwarded access token: ${reason}`, {
    status,
    errorCode,
    retryable: true,
  });
}
