/**
 * `createLakebase()`: composes the service principal's pool with the on-behalf-of parts —
 * identity (headers → verified owner of the token), the router (where a user's work runs),
 * user pools (pools, budget, tokens) and scopes (what `asUser(req)` returns, cached once
 * verified) — and closes them in order. Everything is passed down; nothing calls back up.
 *
 *   asUser(req) ─▶ request identity ─▶ ScopeCache ─▶ UserScope ─▶ IdentityVerifier (SCIM Me)
 *                                                        └──▶ Router ─▶ UserPools | SP pool + SessionStates
 *   query / pool ──────────────────────────────────────────────────────▶ LakebasePool (SP)
 */
import type pg from 'pg';
import { runDoctor } from './admin/doctor.js';
import { systemClock } from './base/clock.js';
import { AuthenticationError, ClosedError, ConfigurationError } from './base/errors.js';
import { roleNameProblem } from './base/role-name.js';
import type { OrmConfig, RequestLike } from './base/types.js';
import {
  developmentFallbackEnabled,
  type LakebaseConfig,
  resolveUserPools,
} from './config/lakebase-options.js';
import { type ResolvedConfig, resolveConfig } from './config/resolve-config.js';
import type {
  DoctorReport,
  Lakebase,
  LakebaseDoctorOptions,
  LakebaseStats,
} from './lakebase-types.js';
import { Admission } from './obo/admission.js';
import {
  ACCESS_TOKEN_HEADER,
  EMAIL_HEADER,
  readRequestIdentity,
} from './obo/identity/request-identity.js';
import {
  IdentityVerifier,
  ownsIdentity,
  roleOf,
  tokenFingerprint,
} from './obo/identity/token-owner.js';
import { UserWorkspaceClients } from './obo/identity/workspace-clients.js';
import { MissingRoles, missingRoleMessage } from './obo/missing-roles.js';
import { Router } from './obo/router.js';
import { FallbackScope, type ScopeContext, UserScopeImpl } from './obo/scope.js';
import { ScopeCache, scopeKey } from './obo/scope-cache.js';
import { SessionStates } from './obo/set-role/session-state.js';
import { SetRoleAccess } from './obo/set-role/set-role-access.js';
import type { UserScope } from './obo/types.js';
import { UserPools } from './obo/user-pools.js';
import type { LakebasePool } from './pool/lakebase-pool.js';
import { toOrmConfig } from './pool/orm-config.js';
import { IdentityPgConfigSource } from './pool/pg-config.js';
import {
  ServicePrincipal,
  servicePrincipalPool,
  servicePrincipalTokens,
} from './pool/service-principal.js';
import type { TokenCache } from './pool/token-cache.js';
import { Telemetry } from './telemetry/telemetry.js';

/** Verified scopes cached at once (an LRU; a forgotten scope still works, it is just not handed out). */
const MAX_SCOPES = 10_000;

class LakebaseFacade implements Lakebase {
  readonly pool: LakebasePool;
  readonly #config: ResolvedConfig;
  /** What the SP pool was made with, for `doctor()`'s config checks. */
  readonly #poolOptions: Partial<LakebaseConfig>;
  readonly #mode: ReturnType<typeof resolveUserPools>['mode'];
  readonly #developmentFallback: boolean;
  readonly #loggerGiven: boolean;
  readonly #telemetry: Telemetry;
  readonly #sp: ServicePrincipal;
  readonly #spTokens: TokenCache | undefined;
  readonly #spPgConfig: IdentityPgConfigSource;
  readonly #clients: UserWorkspaceClients;
  readonly #verifier: IdentityVerifier;
  readonly #users: UserPools;
  readonly #scopes: ScopeCache<UserScopeImpl>;
  readonly #admission = new Admission();
  readonly #scopeContext: ScopeContext;
  #fallback: FallbackScope | undefined;
  #closing: Promise<void> | undefined;

  constructor(options: LakebaseConfig) {
    const { userPools, developmentFallback: _fallback, env: envOption, ...poolOptions } = options;
    const env = envOption ?? process.env;
    const config = resolveConfig(poolOptions, env);
    const settings = resolveUserPools(userPools);
    this.#config = config;
    this.#poolOptions = poolOptions;
    this.#mode = settings.mode;
    this.#developmentFallback = developmentFallbackEnabled(options, env);
    this.#loggerGiven = options.logger !== undefined;
    this.#telemetry = new Telemetry(config.telemetry, config.endpoint);
    this.#sp = new ServicePrincipal(config);
    this.#spTokens = servicePrincipalTokens(config, this.#sp, this.#telemetry);
    this.#spPgConfig = new IdentityPgConfigSource(
      config,
      this.#sp,
      this.#telemetry,
      this.#spTokens,
    );
    const sessions = new SessionStates({
      endpoint: config.endpoint,
      missingRoleMessage: (identity) => missingRoleMessage(identity, config.endpoint),
    });
    this.pool = servicePrincipalPool(config, this.#telemetry, {
      ownsTelemetry: false,
      identity: this.#sp,
      tokens: this.#spTokens,
      // the SP pool clears what a user left in a session (set-role mode) before anyone reuses it
      sessions: settings.mode === 'login' ? undefined : sessions,
    });
    const sp = this.#sp;
    this.#clients = new UserWorkspaceClients({
      host: async () =>
        !options.workspaceClient && env.DATABRICKS_HOST
          ? env.DATABRICKS_HOST
          : (await sp.workspaceClient.config.getHost()).origin,
    });
    this.#verifier = new IdentityVerifier({
      clients: this.#clients,
      idleMs: settings.idleTimeoutMillis,
      timeoutMs: config.credentialTimeoutMs,
      concurrency: settings.maxConcurrentVerifications,
      queue: settings.maxQueuedVerifications,
    });
    this.#users = new UserPools({
      config,
      settings,
      telemetry: this.#telemetry,
      clients: this.#clients,
      missingRoles: new MissingRoles({ sp: this.pool, endpoint: config.endpoint }),
    });
    this.#scopes = new ScopeCache({ max: MAX_SCOPES, idleMs: settings.idleTimeoutMillis });
    this.#scopeContext = {
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
      telemetry: this.#telemetry,
      scopes: this.#scopes,
      router: new Router({
        mode: settings.mode,
        sp: this.pool,
        users: this.#users,
        sessions,
        access: new SetRoleAccess({ sp: this.pool, clock: systemClock }),
      }),
    };
  }

  get closed(): boolean {
    return this.#closing !== undefined;
  }

  // biome-ignore lint/suspicious/noExplicitAny: the default row type of pg, as in types.ts
  query<R extends pg.QueryResultRow = any>(
    text: string | pg.QueryConfig,
    values?: unknown[],
  ): Promise<pg.QueryResult<R>> {
    if (this.#closing) return Promise.reject(new ClosedError());
    return this.pool.query<R>(text as string, values);
  }

  getPgConfig(): pg.PoolConfig {
    return this.#spPgConfig.pgConfig();
  }

  getOrmConfig(): OrmConfig {
    const config = this.getPgConfig();
    return toOrmConfig(config, config.user, 'getOrmConfig');
  }

  asUser(req: RequestLike): UserScope {
    if (this.#closing) throw new ClosedError();
    const { identity, identityHeader, token } = readRequestIdentity(req);
    if (token === undefined) {
      if (this.#developmentFallback) return this.#servicePrincipalFallback();
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
    if (this.#config.password !== undefined || this.#config.endpoint === undefined) {
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
    if (role !== undefined && role !== identity && roleNameProblem(role)) {
      throw new AuthenticationError(
        `The token owner's name cannot be a Postgres role: ${roleNameProblem(role)}`,
        { status: 403 },
      );
    }
    const scope = new UserScopeImpl(
      this.#scopeContext,
      { claimed: identity, fromEmailHeader, token, fingerprint },
      role,
    );
    // Only a verified token's scope is kept (with its token): an unverified one is not cached
    // until its first use has verified it (then it adopts itself), and is dropped if that fails.
    if (role !== undefined && scope.isVerified) this.#scopes.adopt(key, scope);
    return scope;
  }

  close(): Promise<void> {
    this.#closing ??= (async () => {
      // The SP pool takes no new work from now on and ends after what it accepted. User work
      // that was accepted first reaches its pool; then the user pools end the same way.
      // Finally what is left (SCIM lookups, keep-alive sockets, gauges) is let go.
      const spEnded = this.pool.isClosing ? Promise.resolve() : this.pool.end();
      await this.#admission.close();
      this.#scopes.clear();
      this.#fallback?.drop();
      await Promise.allSettled([this.#users.close(), spEnded]);
      this.#verifier.close();
      this.#clients.close();
      this.#telemetry.close();
    })();
    return this.#closing;
  }

  /**
   * The doctor's checks (see `runDoctor`) as this app: its config, credentials, login, TLS,
   * ownership, RLS, and the roles of the verified identities `asUser(req)` has seen (cached
   * scopes and user pools hold verified identities only). Never throws.
   */
  doctor(options: LakebaseDoctorOptions = {}): Promise<DoctorReport> {
    const seen = new Set([...this.#scopes.identities(), ...this.#users.identities()]);
    for (const identity of options.identities ?? []) seen.add(identity);
    return runDoctor({
      ...options,
      db: this,
      config: this.#poolOptions,
      env: this.#config.env,
      workspaceClient: this.#sp.workspaceClient,
      identities: [...seen],
      mode: options.mode ?? this.#mode,
    });
  }

  stats(): LakebaseStats {
    const users = this.#users.stats();
    const identity = this.#verifier.stats();
    return {
      sp: {
        totalCount: this.pool.totalCount,
        idleCount: this.pool.idleCount,
        waitingCount: this.pool.waitingCount,
        token: this.#spTokens?.stats() ?? {
          hits: 0,
          misses: 0,
          refreshes: 0,
          failures: 0,
          invalidations: 0,
        },
      },
      users: {
        ...users,
        verifications: identity.verifications,
        verificationFailures: identity.verificationFailures,
        identityLookups: identity.lookups,
        verificationsRefused: identity.overloaded,
        verifiedTokens: identity.cached,
        sdkClients: this.#clients.created,
        scopes: this.#scopes.size,
      },
    };
  }

  #servicePrincipalFallback(): UserScope {
    if (!this.#fallback) {
      const message =
        'lakebase: request without x-forwarded-access-token runs as the service principal ' +
        '(development fallback, NODE_ENV=development on a developer machine); deployed, it is a 401';
      if (this.#loggerGiven) this.#config.logger.warn(message);
      else console.warn(`[lakebase] ${message}`);
      this.#fallback = new FallbackScope(
        this.#sp.current() ?? 'service principal',
        this.pool,
        { ...this.#scopeContext.viewOptions, user: this.#sp.current() },
        this.#spPgConfig,
      );
    }
    return this.#fallback;
  }
}

/**
 * One service-principal pool plus bounded on-behalf-of user pools.
 * @example
 * const lakebase = createLakebase({ userPools: { maxConnections: 50 } });
 * app.get('/orders', async (req, res) => {
 *   const { rows } = await lakebase.asUser(req).query('select * from orders');
 *   res.json(rows);
 * });
 */
export function createLakebase(config: LakebaseConfig = {}): Lakebase {
  return new LakebaseFacade(config);
}
