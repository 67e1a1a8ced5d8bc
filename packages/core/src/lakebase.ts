/**
 * `createLakebase()`: composes the service principal's pool with the three owners of the
 * on-behalf-of side — identity (headers → verified owner of the token), user pools (pools,
 * budget, tokens) and scopes (what `asUser(req)` returns, cached) — and closes them in order.
 * Everything is passed down; nothing calls back up into the facade.
 *
 *   asUser(req) ─▶ request-identity ─▶ ScopeCache ─▶ UserScope ─▶ IdentityVerifier (SCIM Me)
 *                                                        └──────▶ UserPools ─▶ LakebasePool (user)
 *   query / pool ─────────────────────────────────────────────────▶ LakebasePool (SP)
 */
import type pg from 'pg';
import { type DoctorReport, runDoctor } from './admin/doctor.js';
import { AuthenticationError, ClosedError, ConfigurationError } from './base/errors.js';
import type { OrmConfig, RequestLike } from './base/types.js';
import {
  developmentFallbackEnabled,
  type LakebaseConfig,
  resolveUserPools,
  type UserPoolSettings,
  type UserPoolsMode,
} from './config/lakebase-options.js';
import { type ResolvedConfig, resolveConfig } from './config/resolve-config.js';
import type { Lakebase, LakebaseDoctorOptions, LakebaseStats } from './lakebase-types.js';
import { Admission } from './obo/admission.js';
import { ACCESS_TOKEN_HEADER, readRequestIdentity } from './obo/identity/request-identity.js';
import {
  IdentityVerifier,
  tokenFingerprint,
  UserWorkspaceClients,
} from './obo/identity/token-owner.js';
import { MissingRoles, missingRoleMessage } from './obo/missing-roles.js';
import {
  FallbackScope,
  ScopeCache,
  type ScopeContext,
  scopeKey,
  type UserConnections,
  UserScopeImpl,
} from './obo/scope.js';
import { RoleSession, SessionRoles, SetRoleAccess } from './obo/set-role/session-roles.js';
import type { UserScope } from './obo/types.js';
import { UserPools, type VerifiedUser } from './obo/user-pools.js';
import type { LakebasePool } from './pool/lakebase-pool.js';
import { toOrmConfig } from './pool/orm-config.js';
import { identityPgConfig } from './pool/pg-config.js';
import {
  ServicePrincipal,
  servicePrincipalPool,
  servicePrincipalTokens,
} from './pool/service-principal.js';
import type { TokenCache } from './pool/token-cache.js';
import { Telemetry } from './telemetry/telemetry.js';

/** Scopes cached at once (an LRU; a forgotten scope still works, it is just not handed out). */
const MAX_SCOPES = 10_000;

function normalizeHost(host: string): string {
  const withScheme = /^https?:\/\//i.test(host) ? host : `https://${host}`;
  return new URL(withScheme).origin;
}

class LakebaseFacade implements Lakebase {
  readonly pool: LakebasePool;
  readonly #config: ResolvedConfig;
  /** What the SP pool was made with, for `doctor()`'s config checks. */
  readonly #poolOptions: Partial<LakebaseConfig>;
  readonly #settings: UserPoolSettings & { mode: UserPoolsMode };
  readonly #developmentFallback: boolean;
  readonly #loggerGiven: boolean;
  readonly #telemetry: Telemetry;
  readonly #sp: ServicePrincipal;
  readonly #spTokens: TokenCache | undefined;
  readonly #clients: UserWorkspaceClients;
  readonly #verifier: IdentityVerifier;
  readonly #users: UserPools;
  readonly #scopes: ScopeCache;
  readonly #admission = new Admission();
  readonly #sessions: SessionRoles;
  readonly #setRoleAccess: SetRoleAccess;
  readonly #scopeContext: ScopeContext;
  #fallback: FallbackScope | undefined;
  #fallbackWarned = false;
  #closing: Promise<void> | undefined;

  constructor(options: LakebaseConfig) {
    const { userPools, developmentFallback: _fallback, env: envOption, ...poolOptions } = options;
    const env = envOption ?? process.env;
    const config = resolveConfig(poolOptions, env);
    this.#config = config;
    this.#poolOptions = poolOptions;
    this.#settings = resolveUserPools(userPools);
    this.#developmentFallback = developmentFallbackEnabled(options, env);
    this.#loggerGiven = options.logger !== undefined;
    this.#telemetry = new Telemetry(config.telemetry);
    this.#sp = new ServicePrincipal(config);
    this.#spTokens = servicePrincipalTokens(config, this.#sp, this.#telemetry);
    this.#sessions = new SessionRoles({
      endpoint: config.endpoint,
      missingRoleMessage: (identity) => missingRoleMessage(identity, config.endpoint),
    });
    this.pool = servicePrincipalPool(config, this.#telemetry, {
      ownsTelemetry: false,
      identity: this.#sp,
      tokens: this.#spTokens,
      // the SP pool resets what a user left in a session (set-role mode) before anyone reuses it
      sessions: this.#settings.mode === 'login' ? undefined : this.#sessions,
    });

    const sp = this.#sp;
    this.#clients = new UserWorkspaceClients({
      host: async () => {
        if (!options.workspaceClient && env.DATABRICKS_HOST)
          return normalizeHost(env.DATABRICKS_HOST);
        return (await sp.workspaceClient.config.getHost()).origin;
      },
    });
    this.#verifier = new IdentityVerifier({
      clients: this.#clients,
      idleMs: this.#settings.idleTimeoutMillis,
      timeoutMs: config.credentialTimeoutMs,
    });
    const spPool = this.pool;
    this.#setRoleAccess = new SetRoleAccess({
      query: (text, values) => spPool.query(text, values),
    });
    this.#users = new UserPools({
      config,
      settings: this.#settings,
      telemetry: this.#telemetry,
      clients: this.#clients,
      missingRoles: new MissingRoles({
        sp: spPool,
        endpoint: config.endpoint,
      }),
    });
    this.#scopes = new ScopeCache({ max: MAX_SCOPES, idleMs: this.#settings.idleTimeoutMillis });
    this.#scopeContext = {
      config,
      viewOptions: {
        host: config.host,
        port: config.port,
        database: config.database,
        max: this.#settings.max,
        idleTimeoutMillis: this.#settings.idleTimeoutMillis,
        connectionTimeoutMillis: config.pool.connectionTimeoutMillis,
      },
      admission: this.#admission,
      verifier: this.#verifier,
      users: this.#users,
      telemetry: this.#telemetry,
      route: (user) => this.#route(user),
      loginRoute: (user) => this.#users.pool(user) as unknown as UserConnections,
      currentPool: (identity) =>
        this.#settings.mode === 'set-role'
          ? this.pool
          : (this.#users.current(identity) ?? this.pool),
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
    return identityPgConfig(this.#config, this.#sp, this.#telemetry, this.#spTokens, 'getPgConfig');
  }

  getOrmConfig(): OrmConfig {
    const config = this.getPgConfig();
    return toOrmConfig(config, config.user, 'getOrmConfig');
  }

  asUser(req: RequestLike): UserScope {
    if (this.#closing) throw new ClosedError();
    const { identity, token } = readRequestIdentity(req);
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
    if (this.#config.password !== undefined || this.#config.endpoint === undefined) {
      throw new ConfigurationError(
        'asUser() needs OAuth mode: set option "endpoint" or env LAKEBASE_ENDPOINT and no "password"',
        { option: 'endpoint', envVar: 'LAKEBASE_ENDPOINT' },
      );
    }
    const fingerprint = tokenFingerprint(token);
    const key = scopeKey(identity, fingerprint);
    const cached = this.#scopes.get(key);
    if (cached) {
      // the newest forwarded token of a verified identity is the one its next fetch uses
      if (cached.isVerified) cached.offerToken();
      return cached;
    }
    const scope = new UserScopeImpl(this.#scopeContext, { identity, token, fingerprint });
    this.#scopes.add(key, scope);
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
   * ownership, RLS, and the roles of the identities `asUser(req)` has seen. Never throws.
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
      mode: options.mode ?? this.#settings.mode,
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
        verifiedTokens: identity.cached,
        sdkClients: this.#clients.created,
        scopes: this.#scopes.size,
      },
    };
  }

  /** Where a verified user's work runs (see `userPools.mode`). */
  #route(user: VerifiedUser): UserConnections | Promise<UserConnections> {
    const { mode } = this.#settings;
    if (mode === 'login') return this.#users.pool(user) as unknown as UserConnections;
    if (mode === 'set-role') return new RoleSession(this.pool, this.#sessions, user.identity);
    const settled = this.#setRoleAccess.settled(user.identity);
    if (settled !== undefined) {
      return settled
        ? new RoleSession(this.pool, this.#sessions, user.identity)
        : (this.#users.pool(user) as unknown as UserConnections);
    }
    return this.#setRoleAccess
      .canSetRole(user.identity)
      .then((can) =>
        can
          ? new RoleSession(this.pool, this.#sessions, user.identity)
          : (this.#users.pool(user) as unknown as UserConnections),
      );
  }

  #servicePrincipalFallback(): UserScope {
    if (!this.#fallbackWarned) {
      this.#fallbackWarned = true;
      const message =
        'lakebase: request without x-forwarded-access-token runs as the service principal ' +
        '(development fallback, NODE_ENV=development); in production it is a 401';
      if (this.#loggerGiven) this.#config.logger.warn(message);
      else console.warn(`[lakebase] ${message}`);
    }
    this.#fallback ??= new FallbackScope(
      this.#sp.current() ?? 'service principal',
      this.pool,
      { ...this.#scopeContext.viewOptions, user: this.#sp.current() },
      () => this.getPgConfig(),
    );
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
