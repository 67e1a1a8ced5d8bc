/**
 * `createLakebase()`: one service-principal pool plus on-behalf-of user pools. `asUser(req)`
 * is synchronous and I/O-free for a warm user: it returns the cached `UserScope` of
 * (identity, token fingerprint); a new token is verified once (SCIM `Me`) before the scope
 * touches that identity's pool, token cache or stored token.
 */
import type pg from 'pg';
import { type ResolvedConfig, resolveConfig, resolveUser } from './config.js';
import { workspaceCredentialSource } from './credentials.js';
import { AuthenticationError, ClosedError, ConfigurationError } from './errors.js';
import { IdentityVerifier } from './identity-verifier.js';
import {
  developmentFallbackEnabled,
  type LakebaseConfig,
  resolveUserPools,
} from './lakebase-config.js';
import { toOrmConfig } from './orm-config.js';
import { buildLakebasePool, lakebasePoolConfig, servicePrincipalTokens } from './pool.js';
import { ACCESS_TOKEN_HEADER, readRequestIdentity } from './request-identity.js';
import { ScopeDirectory, scopeKey } from './scope-directory.js';
import { ScopedPool, type ScopeTarget } from './scoped-pool.js';
import { createTelemetry, type Telemetry } from './telemetry.js';
import { TokenCache } from './token-cache.js';
import type {
  CredentialSource,
  Lakebase,
  LakebaseStats,
  OrmConfig,
  RequestLike,
  TokenProvider,
  UserPoolStats,
} from './types.js';
import { tokenFingerprint, UserClientCache } from './user-clients.js';
import { type UserPoolSettings, UserRegistry, type UserToken } from './user-registry.js';
import { Scope } from './user-scope.js';

/** `UserPoolStats` plus the on-behalf-of internals worth watching. */
export interface OboUserStats extends UserPoolStats {
  /** Pools dropped after being empty for `idleTimeoutMillis`. */
  idleDrops: number;
  /** Idle connections closed to make room for another user's connection. */
  reclaims: number;
  /** SCIM `Me` calls made to verify forwarded tokens. */
  identityLookups: number;
  /** Databricks SDK clients built for user tokens (one per token, never per request). */
  sdkClients: number;
  /** Cached `UserScope` objects. */
  scopes: number;
}

export interface LakebaseInstanceStats extends LakebaseStats {
  users: OboUserStats;
}

/** What `createLakebase()` returns: `Lakebase`, with richer stats. */
export interface LakebaseInstance extends Lakebase {
  stats(): LakebaseInstanceStats;
}

/** Scopes cached at once (an LRU; a forgotten scope still works, it is just not handed out). */
const MAX_SCOPES = 10_000;

let developmentFallbackWarned = false;

function normalizeHost(host: string): string {
  const withScheme = /^https?:\/\//i.test(host) ? host : `https://${host}`;
  return new URL(withScheme).origin;
}

class LakebaseFacade implements LakebaseInstance {
  readonly pool: pg.Pool;
  private readonly config: ResolvedConfig;
  private readonly settings: UserPoolSettings;
  private readonly developmentFallback: boolean;
  private readonly loggerGiven: boolean;
  private readonly telemetry: Telemetry;
  private readonly spTokens: TokenProvider;
  private readonly spView: ScopedPool;
  private readonly spTarget: ScopeTarget;
  private readonly clients: UserClientCache;
  private readonly verifier: IdentityVerifier;
  private readonly registry: UserRegistry;
  private readonly scopes = new ScopeDirectory(MAX_SCOPES);
  private readonly closedSignal: Promise<never>;
  private rejectClosed!: (error: Error) => void;
  private fallbackScope: Scope | undefined;
  private closing: Promise<void> | undefined;

  constructor(options: LakebaseConfig) {
    const { userPools, developmentFallback: _fallback, env: envOption, ...poolOptions } = options;
    const env = envOption ?? process.env;
    const config = resolveConfig(poolOptions, env);
    this.config = config;
    this.settings = resolveUserPools(userPools);
    this.developmentFallback = developmentFallbackEnabled(options, env);
    this.loggerGiven = options.logger !== undefined;
    this.telemetry = createTelemetry(config.telemetry);

    this.closedSignal = new Promise<never>((_, reject) => {
      this.rejectClosed = reject;
    });
    this.closedSignal.catch(() => {});

    const spTokens = servicePrincipalTokens(config, this.telemetry);
    this.spTokens = spTokens;
    this.pool = buildLakebasePool({
      config,
      user: config.user ?? (() => resolveUser(config)),
      tokens: spTokens,
      poolName: 'lakebase:sp',
      Client: poolOptions.Client as typeof pg.Client | undefined,
      logger: config.logger,
      telemetry: this.telemetry,
      onEnd: () => spTokens.close(),
    });
    this.spTarget = {
      acquire: async () => {
        this.assertOpen();
        return this.pool;
      },
      current: () => this.pool,
      closed: this.closedSignal,
    };
    this.spView = new ScopedPool(this.viewOptions(config.user), this.spTarget);

    this.clients = new UserClientCache({
      host: async () => {
        if (!options.workspaceClient && env.DATABRICKS_HOST)
          return normalizeHost(env.DATABRICKS_HOST);
        return (await config.workspaceClient.config.getHost()).origin;
      },
    });
    this.verifier = new IdentityVerifier({
      clients: this.clients,
      timeoutMs: config.credentialTimeoutMs,
    });
    this.registry = new UserRegistry({
      settings: this.settings,
      connectionTimeoutMillis: config.pool.connectionTimeoutMillis,
      logger: config.logger,
      createPool: ({ identity, Client, token }) => this.createUserPool(identity, Client, token),
      onDrop: (identity) => this.scopes.dropIdentity(identity),
    });
  }

  get closed(): boolean {
    return this.closing !== undefined;
  }

  // biome-ignore lint/suspicious/noExplicitAny: the default row type of pg, as in types.ts
  query<R extends pg.QueryResultRow = any>(
    text: string | pg.QueryConfig,
    values?: unknown[],
  ): Promise<pg.QueryResult<R>> {
    if (this.closing) return Promise.reject(new ClosedError());
    return this.spView.query<R>(text as string, values);
  }

  getPgConfig(): pg.PoolConfig {
    return lakebasePoolConfig({
      config: this.config,
      user: this.config.user ?? (() => resolveUser(this.config)),
      tokens: this.spTokens,
      poolName: 'lakebase:sp',
      logger: this.config.logger,
      telemetry: this.telemetry,
    });
  }

  getOrmConfig(): OrmConfig {
    return toOrmConfig(this.getPgConfig(), this.config.user, 'getOrmConfig');
  }

  asUser(req: RequestLike): Scope {
    this.assertOpen();
    const { identity, token } = readRequestIdentity(req);
    if (token === undefined) {
      if (this.developmentFallback) return this.servicePrincipalFallback();
      throw new AuthenticationError(
        `The request has no ${ACCESS_TOKEN_HEADER} header (is user authorization enabled for the app?)`,
      );
    }
    if (identity === undefined) {
      throw new AuthenticationError(
        'The request has no x-forwarded-email or x-forwarded-user header to run as',
      );
    }
    if (this.config.password !== undefined || this.config.endpoint === undefined) {
      throw new ConfigurationError(
        'asUser() needs OAuth mode: set option "endpoint" or env LAKEBASE_ENDPOINT and no "password"',
        { option: 'endpoint', envVar: 'LAKEBASE_ENDPOINT' },
      );
    }
    const fingerprint = tokenFingerprint(token);
    const key = scopeKey(identity, fingerprint);
    const cached = this.scopes.get(key);
    if (cached) {
      // the newest forwarded token of a verified identity is the one its next fetch uses
      if (cached.isVerified) this.registry.offerToken(identity, { value: token, fingerprint });
      return cached;
    }
    const scope = this.userScope(identity, { value: token, fingerprint }, key);
    this.scopes.add(key, scope);
    return scope;
  }

  close(): Promise<void> {
    if (!this.closing) {
      this.rejectClosed(new ClosedError());
      this.closing = (async () => {
        this.scopes.dropAll();
        this.fallbackScope?.drop();
        this.fallbackScope = undefined;
        await Promise.allSettled([
          this.registry.close(),
          this.pool.ending ? Promise.resolve() : this.pool.end(),
        ]);
        this.spTokens.close();
        this.clients.close();
        this.verifier.clear();
      })();
    }
    return this.closing;
  }

  stats(): LakebaseInstanceStats {
    const users = this.registry.stats();
    const identity = this.verifier.stats();
    return {
      sp: {
        totalCount: this.pool.totalCount,
        idleCount: this.pool.idleCount,
        waitingCount: this.pool.waitingCount,
        token: this.spTokens.stats(),
      },
      users: {
        ...users,
        verifications: identity.verifications,
        verificationFailures: identity.verificationFailures,
        identityLookups: identity.lookups,
        sdkClients: this.clients.created,
        scopes: this.scopes.size,
      },
    };
  }

  private assertOpen(): void {
    if (this.closing) throw new ClosedError();
  }

  /** Waits for the scope's verification; anything that ends after close() is a ClosedError. */
  private async verifiedWhileOpen(verified: Promise<void>): Promise<void> {
    this.assertOpen();
    try {
      await verified;
    } catch (error) {
      this.assertOpen();
      throw error;
    }
    this.assertOpen();
  }

  private viewOptions(user: string | undefined): pg.PoolConfig {
    return {
      host: this.config.host,
      port: this.config.port,
      database: this.config.database,
      user,
      max: this.settings.max,
      idleTimeoutMillis: this.settings.idleTimeoutMillis,
      connectionTimeoutMillis: this.config.pool.connectionTimeoutMillis,
    };
  }

  private userScope(identity: string, token: UserToken, key: string): Scope {
    const verified = this.verifier.verify(identity, token.fingerprint, token.value).then(() => {
      if (!this.closing) this.registry.offerToken(identity, token);
    });
    const target: ScopeTarget = {
      acquire: async () => {
        await this.verifiedWhileOpen(verified);
        return this.registry.open(identity, token).pool;
      },
      // nothing about the identity's pool is visible before the token is verified
      current: () => (scope.isVerified ? this.registry.peek(identity)?.pool : undefined),
      closed: this.closedSignal,
    };
    const scope: Scope = new Scope({
      identity,
      isServicePrincipalFallback: false,
      fingerprint: token.fingerprint,
      verified,
      poolOptions: this.viewOptions(identity),
      target,
      pgConfig: () => this.userPgConfig(identity, token, verified),
      ormConfig: () =>
        toOrmConfig(this.userPgConfig(identity, token, verified), identity, 'getOrmConfig'),
      onEnd: () => {
        this.scopes.forget(key, scope);
        scope.drop();
      },
    });
    verified.catch((error: unknown) => {
      // a transient failure is not remembered: the next request with this token asks again
      if (!(error instanceof AuthenticationError)) this.scopes.forget(key, scope);
    });
    return scope;
  }

  /** A user's pg config: the password waits for verification, then uses their token cache. */
  private userPgConfig(identity: string, token: UserToken, verified: Promise<void>): pg.PoolConfig {
    const password = async () => {
      await this.verifiedWhileOpen(verified);
      return this.registry.open(identity, token).tokens.getToken();
    };
    const tokens: TokenProvider = {
      getToken: password,
      invalidate: (value) => this.registry.peek(identity)?.tokens.invalidate(value),
      setRefreshAhead: () => {},
      stats: () => ({ hits: 0, misses: 0, refreshes: 0, failures: 0, invalidations: 0 }),
      close: () => {},
    };
    return lakebasePoolConfig({
      config: this.config,
      user: identity,
      tokens,
      poolName: 'lakebase:user',
      max: this.settings.max,
      idleTimeoutMillis: this.settings.idleTimeoutMillis,
      Client: this.registry.Client,
      logger: this.config.logger,
      telemetry: this.telemetry,
    });
  }

  private createUserPool(
    identity: string,
    Client: typeof pg.Client,
    token: () => UserToken,
  ): { pool: pg.Pool; tokens: TokenProvider } {
    const endpoint = this.config.endpoint as string;
    const claims = this.config.claims ? [...this.config.claims] : undefined;
    const source: CredentialSource = {
      fetch: async (signal) => {
        const current = token();
        const client = await this.clients.get(current.fingerprint, current.value);
        return workspaceCredentialSource(
          client,
          { endpoint, claims },
          { timeoutMs: this.config.credentialTimeoutMs },
        ).fetch(signal);
      },
    };
    const tokens = new TokenCache({
      source,
      name: `user ${identity}`,
      refreshBufferMs: this.config.refreshBufferMs,
      refreshAhead: false,
      logger: this.config.logger,
      telemetry: this.telemetry,
      poolName: 'lakebase:user',
    });
    const pool = buildLakebasePool({
      config: this.config,
      user: identity,
      tokens,
      poolName: 'lakebase:user',
      max: this.settings.max,
      idleTimeoutMillis: this.settings.idleTimeoutMillis,
      Client,
      logger: this.config.logger,
      telemetry: this.telemetry,
    });
    return { pool, tokens };
  }

  private servicePrincipalFallback(): Scope {
    if (!developmentFallbackWarned) {
      developmentFallbackWarned = true;
      const message =
        'lakebase: request without x-forwarded-access-token runs as the service principal ' +
        '(development fallback, NODE_ENV=development); in production it is a 401';
      if (this.loggerGiven) this.config.logger.warn(message);
      else console.warn(`[lakebase] ${message}`);
    }
    if (!this.fallbackScope) {
      const scope: Scope = new Scope({
        identity: this.config.user ?? 'service principal',
        isServicePrincipalFallback: true,
        fingerprint: undefined,
        verified: Promise.resolve(),
        poolOptions: this.viewOptions(this.config.user),
        target: this.spTarget,
        pgConfig: () => this.getPgConfig(),
        ormConfig: () => this.getOrmConfig(),
        onEnd: () => {
          if (this.fallbackScope === scope) this.fallbackScope = undefined;
          scope.drop();
        },
      });
      this.fallbackScope = scope;
    }
    return this.fallbackScope;
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
export function createLakebase(config: LakebaseConfig = {}): LakebaseInstance {
  return new LakebaseFacade(config);
}
