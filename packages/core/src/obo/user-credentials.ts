/**
 * What one user's pool needs that is the user's own: `UserCredentialSource` mints their
 * Postgres tokens with the newest verified forwarded token (through that token's own SDK
 * client, built once per token), and `UserLoginPolicy` says why their login was rejected (a
 * missing role, with the command that creates it).
 */
import type { WorkspaceClient } from '@databricks/sdk-experimental';
import { AuthenticationError, CredentialError } from '../base/errors.js';
import type { Credential, CredentialSource } from '../base/types.js';
import type { ResolvedConfig } from '../config/resolve-config.js';
import { generateDatabaseCredential } from '../pool/credentials.js';
import type { LoginPolicy } from '../pool/lakebase-pool.js';
import type { UserWorkspaceClients } from './identity/workspace-clients.js';
import type { MissingRoles } from './missing-roles.js';

/** A forwarded token known to belong to `identity`. */
export interface VerifiedUser {
  identity: string;
  token: string;
  fingerprint: string;
}

/** Mints one identity's Postgres tokens with its newest verified forwarded token. */
export class UserCredentialSource implements CredentialSource {
  readonly #identity: string;
  readonly #config: ResolvedConfig;
  readonly #clients: UserWorkspaceClients;
  /** The newest verified forwarded token: what the next fetch uses. */
  #token: { value: string; fingerprint: string };
  /** The SDK client of `#client.fingerprint`'s token (built on the first fetch with it). */
  #client: { fingerprint: string; workspace: Promise<WorkspaceClient> } | undefined;

  constructor(user: VerifiedUser, config: ResolvedConfig, clients: UserWorkspaceClients) {
    this.#identity = user.identity;
    this.#config = config;
    this.#clients = clients;
    this.#token = { value: user.token, fingerprint: user.fingerprint };
  }

  /** Makes `user.token` the one the next fetch uses (no I/O). */
  offer(user: VerifiedUser): void {
    if (this.#token.fingerprint !== user.fingerprint) {
      this.#token = { value: user.token, fingerprint: user.fingerprint };
    }
  }

  /** Lets go of the SDK client (the pool is ending). */
  forget(): void {
    this.#client = undefined;
  }

  /** One credential call with the newest verified token. */
  async fetch(signal?: AbortSignal): Promise<Credential> {
    const token = this.#token;
    if (this.#client?.fingerprint !== token.fingerprint) {
      const workspace = this.#clients.create(token.value);
      workspace.catch(() => {});
      this.#client = { fingerprint: token.fingerprint, workspace };
    }
    const workspace = await this.#client.workspace;
    const config = this.#config;
    try {
      const credential = await generateDatabaseCredential(
        workspace,
        {
          endpoint: config.endpoint as string,
          claims: config.claims ? [...config.claims] : undefined,
        },
        { signal, timeoutMs: config.credentialTimeoutMs },
      );
      return { token: credential.token, expiresAt: new Date(credential.expire_time) };
    } catch (error) {
      if (
        error instanceof CredentialError &&
        (error.apiStatus === 401 || error.apiStatus === 403)
      ) {
        throw new AuthenticationError(
          `The workspace refused to mint a Postgres token with "${this.#identity}"'s forwarded ` +
            `access token (HTTP ${error.apiStatus}${error.errorCode ? ` ${error.errorCode}` : ''}): ` +
            'it may have expired, or lack the postgres user API scope',
          { identity: this.#identity, cause: error },
        );
      }
      throw error;
    }
  }
}

/** What a user's rejected login means: a missing role (403), or a role that cannot log in. */
export class UserLoginPolicy implements LoginPolicy {
  readonly #identity: string;
  readonly #missingRoles: MissingRoles;

  constructor(identity: string, missingRoles: MissingRoles) {
    this.#identity = identity;
    this.#missingRoles = missingRoles;
  }

  beforeRetry(): Promise<Error | undefined> {
    return this.#missingRoles.check(this.#identity);
  }

  rejected(error: Error): Error {
    const code = (error as { code?: string }).code;
    return new AuthenticationError(
      `Postgres rejected the login of "${this.#identity}" with a fresh token ` +
        `(${code ?? 'auth'}): their role may lack LOGIN or CONNECT on the database`,
      { identity: this.#identity, cause: { code } },
    );
  }
}
