/**
 * `OnBehalfOf`: everything `asUser(req)` needs, owned in one place — the request's identity
 * (headers → verified owner of the token), the router (where a user's work runs), the user
 * pools, the cache of verified scopes, the development fallback — and closed in order. It is
 * given the service principal's pool and identity; it never reaches the facade.
 *
 *   asUser(req) ─▶ request identity ─▶ ScopeCache ─▶ UserScope ─▶ IdentityVerifier (SCIM Me)
 *                                                      └──▶ Router ─▶ UserPools | SP pool + SessionStates
 */
import { systemClock } from '../base/clock.js';
import { AuthenticationError, ClosedError, ConfigurationError } from '../base/errors.js';
import { roleNameProblem } from '../base/role-name.js';
import type { RequestLike } from '../base/types.js';
import type { UserPoolSettings, UserPoolsMode } from '../config/lakebase-options.js';
import type { ResolvedConfig } from '../config/resolve-config.js';
import type { IdentityPgConfigSource } from '../pool/external-config.js';
import type { ConnectionPlan } from '../pool/pool-options.js';
import type { ReplicaGate } from '../pool/replica-gate.js';
import type { ServicePrincipal } from '../pool/service-principal.js';
import type { Telemetry } from '../telemetry/telemetry.js';
import { Admission } from './admission.js';
import {
  ACCESS_TOKEN_HEADER,
  EMAIL_HEADER,
  readRequestIdentity,
} from './identity/request-identity.js';
import {
  IdentityVerifier,
  ownsIdentity,
  roleOf,
  tokenFingerprint,
} from './identity/token-owner.js';
import { UserWorkspaceClients } from './identity/workspace-clients.js';
import { MissingRoles } from './missing-roles.js';
import { Router } from './router.js';
import { FallbackScope, type ScopeContext, UserScopeImpl } from './scope.js';
import { ScopeCache, scopeKey } from './scope-cache.js';
import { SetRoleAccess } from './set-role/set-role-access.js';
import type { SetRoleSide } from './set-role/set-role-route.js';
import type { UserPoolStats, UserScope } from './types.js';
import { UserPools } from './user-pools.js';

/** Verified scopes cached at once (an LRU; a forgotten scope still works, it is just not handed out). */
const MAX_SCOPES = 10_000;

export interface OnBehalfOfParts {
  config: ResolvedConfig;
  settings: UserPoolSettings & { mode: UserPoolsMode };
  telemetry: Telemetry;
  /** The service principal's pools (set-role mode runs users' work on them). */
  side: SetRoleSide;
  spIdentity: ServicePrincipal;
  spPgConfig: IdentityPgConfigSource;
  /** How the users' own pools reach the primary when the app scales out. */
  plan?: ConnectionPlan;
  /** The read-only endpoint (`read` option): its config, the SP's pools there, the users' plan. */
  read?: {
    config: ResolvedConfig;
    side: SetRoleSide;
    plan: ConnectionPlan & { replica: ReplicaGate };
  };
  developmentFallback: boolean;
  /** True when the app gave a logger (the fallback's warning goes there, else to the console). */
  loggerGiven: boolean;
}

export class OnBehalfOf {
  readonly #parts: OnBehalfOfParts;
  readonly #clients: UserWorkspaceClients;
  readonly #verifier: IdentityVerifier;
  readonly #users: UserPools;
  readonly #readUsers: UserPools | undefined;
  readonly #scopes: ScopeCache<UserScopeImpl>;
  readonly #admission = new Admission();
  readonly #context: ScopeContext;
  #fallback: FallbackScope | undefined;
  #closed = false;

  constructor(parts: OnBehalfOfParts) {
    this.#parts = parts;
    const { config, settings, telemetry } = parts;
    const sp = parts.side.sp;
    this.#clients = new UserWorkspaceClients({ host: parts.spIdentity });
    this.#verifier = new IdentityVerifier({
      clients: this.#clients,
      idleMs: settings.idleTimeoutMillis,
      timeoutMs: config.credentialTimeoutMs,
      concurrency: settings.maxConcurrentVerifications,
      queue: settings.maxQueuedVerifications,
    });
    const missingRoles = new MissingRoles({ sp, endpoint: config.endpoint });
    this.#users = new UserPools({
      config,
      settings,
      telemetry,
      clients: this.#clients,
      missingRoles,
      plan: parts.plan,
    });
    this.#scopes = new ScopeCache({ max: MAX_SCOPES, idleMs: settings.idleTimeoutMillis });
    this.#context = {
      config,
      viewOptions: {
        host: config.host,
        port: config.port,
        database: config.database,
        max: settings.max,
        idleTimeoutMillis: settings.idleTimeoutMillis,
        connectionTimeoutMillis: config.pool.connectionTimeoutMillis,
      },
      admission: this.#admission,
      verifier: this.#verifier,
      users: this.#users,
      telemetry,
      scopes: this.#scopes,
      router: new Router({
        mode: settings.mode,
        side: parts.side,
        users: this.#users,
        access: new SetRoleAccess({ sp, clock: systemClock }),
      }),
    };
    const read = parts.read;
    if (read) {
      // the same identities on the read-only endpoint: their own pools there (tokens for that
      // endpoint), or the SP's read pool under their role; verification stays the primary's
      this.#readUsers = new UserPools({
        config: read.config,
        settings,
        telemetry,
        clients: this.#clients,
        missingRoles,
        plan: read.plan,
      });
      this.#context.read = {
        config: read.config,
        viewOptions: {
          ...this.#context.viewOptions,
          host: read.config.host,
          port: read.config.port,
        },
        users: this.#readUsers,
        gate: read.plan.replica,
        router: new Router({
          mode: settings.mode,
          side: read.side,
          users: this.#readUsers,
          access: new SetRoleAccess({ sp: read.side.sp, clock: systemClock }),
        }),
      };
    }
  }

  /** See `Lakebase.asUser`: synchronous, and I/O-free for a user seen with this token. */
  asUser(req: RequestLike): UserScope {
    if (this.#closed) throw new ClosedError();
    const { identity, identityHeader, token } = readRequestIdentity(req);
    if (token === undefined) {
      if (this.#parts.developmentFallback) return this.#servicePrincipalFallback();
      throw new AuthenticationError(
        `The request has no ${ACCESS_TOKEN_HEADER} header (is user authorization enabled for the app?)`,
      );
    }
    if (identity === undefined) {
      throw new AuthenticationError(
        'The request has no x-forwarded-email or x-forwarded-user header to run as',
      );
    }
    // Postgres cuts longer role names: a 64-byte identity would act as its 63-byte prefix
    const problem = roleNameProblem(identity);
    if (problem) {
      throw new AuthenticationError(
        `The identity in ${identityHeader} cannot be a Postgres role: ${problem}`,
        { status: 403 },
      );
    }
    const { config } = this.#parts;
    if (config.password !== undefined || config.endpoint === undefined) {
      throw new ConfigurationError(
        'asUser() needs OAuth mode: set option "endpoint" or env LAKEBASE_ENDPOINT and no "password"',
        { option: 'endpoint', envVar: 'LAKEBASE_ENDPOINT' },
      );
    }
    const fingerprint = tokenFingerprint(token);
    const fromEmailHeader = identityHeader === EMAIL_HEADER;
    // the role: the email named, or (only x-forwarded-user) the token owner's, once known
    const owner = this.#verifier.knownOwner(fingerprint);
    const role =
      owner && ownsIdentity(owner, identity) ? roleOf(owner, identity, fromEmailHeader) : undefined;
    const key = scopeKey(role ?? identity, fingerprint);
    const cached = this.#scopes.get(key);
    if (cached) {
      // the newest forwarded token of a verified identity is the one its next fetch uses
      cached.offerToken();
      return cached;
    }
    const ownerProblem =
      role !== undefined && role !== identity ? roleNameProblem(role) : undefined;
    if (ownerProblem) {
      throw new AuthenticationError(
        `The token owner's name cannot be a Postgres role: ${ownerProblem}`,
        { status: 403 },
      );
    }
    const scope = new UserScopeImpl(
      this.#context,
      { claimed: identity, fromEmailHeader, token, fingerprint },
      role,
    );
    // Only a verified token's scope is kept (with its token): an unverified one is not cached
    // until its first use has verified it (then it adopts itself), and is dropped if that fails.
    if (role !== undefined && scope.isVerified) this.#scopes.adopt(key, scope);
    return scope;
  }

  /** The verified identities seen: cached scopes and user pools (for the doctor). */
  identities(): string[] {
    return [...new Set([...this.#scopes.identities(), ...this.#users.identities()])];
  }

  /** The users' pools on the read-only endpoint, if there is one (with the shared verification counters). */
  readStats(): UserPoolStats | undefined {
    if (!this.#readUsers) return undefined;
    return { ...this.stats(), ...this.#readUsers.stats() };
  }

  stats(): UserPoolStats {
    const identity = this.#verifier.stats();
    return {
      ...this.#users.stats(),
      verifications: identity.verifications,
      verificationFailures: identity.verificationFailures,
      identityLookups: identity.lookups,
      verificationsRefused: identity.overloaded,
      verifiedTokens: identity.cached,
      sdkClients: this.#clients.created,
      scopes: this.#scopes.size,
    };
  }

  /**
   * Takes no new work; resolves once the work accepted before (a scope waiting for its token's
   * verification) has reached its pool: a user's pool, or in set-role mode the SP's, which must
   * not have ended before then.
   */
  stopAdmitting(): Promise<void> {
    this.#closed = true;
    return this.#admission.close();
  }

  /**
   * After `stopAdmitting()`: the user pools end (letting their accepted work finish), and what
   * is left (SCIM lookups, keep-alive sockets) is let go. `spEnded` is the SP pools ending.
   */
  async close(spEnded: Promise<void>): Promise<void> {
    await this.stopAdmitting();
    this.#scopes.clear();
    this.#fallback?.drop();
    await Promise.allSettled([this.#users.close(), this.#readUsers?.close(), spEnded]);
    this.#verifier.close();
    this.#clients.close();
  }

  #servicePrincipalFallback(): UserScope {
    if (!this.#fallback) {
      const { config, spIdentity, spPgConfig } = this.#parts;
      const sp = this.#parts.side.sp;
      const message =
        'lakebase: request without x-forwarded-access-token runs as the service principal ' +
        '(development fallback, NODE_ENV=development on a developer machine); deployed, it is a 401';
      if (this.#parts.loggerGiven) config.logger.warn(message);
      else console.warn(`[lakebase] ${message}`);
      this.#fallback = new FallbackScope(
        spIdentity.current() ?? 'service principal',
        sp,
        { ...this.#context.viewOptions, user: spIdentity.current() },
        spPgConfig,
      );
    }
    return this.#fallback;
  }
}
