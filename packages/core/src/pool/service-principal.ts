/**
 * The service principal (or whatever identity the SDK default auth chain yields): its
 * workspace client, its Postgres role (configured, or looked up once with SCIM `Me`), its token
 * cache, and its pool. Also the official package's helpers of the same names
 * (`createLakebasePool`, `getWorkspaceClient`, `getUsernameWithApiLookup`).
 */
import { WorkspaceClient } from '@databricks/sdk-experimental';
import { type Clock, systemClock } from '../base/clock.js';
import { ConfigurationError } from '../base/errors.js';
import type { LakebasePoolConfig } from '../base/types.js';
import { type ResolvedConfig, resolveConfig } from '../config/resolve-config.js';
import { Telemetry } from '../telemetry/telemetry.js';
import type { LoginUser } from './client.js';
import { workspaceCredentialSource } from './credentials.js';
import { LakebasePool, type LakebasePoolRuntime } from './lakebase-pool.js';
import { type ConnectionPlan, lakebasePoolConfig, passwordSource } from './pool-options.js';
import { ReadPool } from './read-pool.js';
import { TokenCache } from './token-cache.js';

/**
 * A workspace client from the SDK default auth chain (M2M OAuth, PAT, CLI profile...), reading
 * the given environment. SDK-internal retries are capped: the token cache retries on its own.
 */
export function createWorkspaceClient(env: NodeJS.ProcessEnv = process.env): WorkspaceClient {
  return new WorkspaceClient({ env, retryTimeoutSeconds: 10 });
}

/** The official package's helper: the given client or one from the default auth chain. */
export function getWorkspaceClient(config: Partial<LakebasePoolConfig> = {}): WorkspaceClient {
  return config.workspaceClient ?? createWorkspaceClient();
}

function nonEmpty(value: string | undefined | null): string | undefined {
  const trimmed = value?.trim();
  return trimmed ? trimmed : undefined;
}

/**
 * The Postgres role for the configured identity: `user` → PGUSER → DATABRICKS_CLIENT_ID →
 * SCIM `currentUser.me()` (userName). Returns undefined when none works (official semantics).
 */
export async function getUsernameWithApiLookup(
  config: Partial<LakebasePoolConfig> = {},
  env: NodeJS.ProcessEnv = process.env,
): Promise<string | undefined> {
  const sync = nonEmpty(config.user) ?? nonEmpty(env.PGUSER) ?? nonEmpty(env.DATABRICKS_CLIENT_ID);
  if (sync) return sync;
  try {
    const me = await (config.workspaceClient ?? createWorkspaceClient(env)).currentUser.me();
    return me.userName ?? undefined;
  } catch {
    return undefined;
  }
}

/** A cause without response bodies or headers: name, status, code and a short message. */
function safeCause(error: unknown): Error | undefined {
  if (!(error instanceof Error)) return undefined;
  const e = error as Error & { statusCode?: number; errorCode?: string };
  const detail = [e.statusCode, e.errorCode].filter((v) => v !== undefined).join(' ');
  return new Error(`${e.name}${detail ? ` (${detail})` : ''}`);
}

/** The identity of a config's own pools: its workspace client and its Postgres role. */
export class ServicePrincipal implements LoginUser {
  readonly #config: ResolvedConfig;
  #client: WorkspaceClient | undefined;
  #resolved: string | undefined;
  #lookup: Promise<string> | undefined;

  constructor(config: ResolvedConfig) {
    this.#config = config;
    this.#client = config.workspaceClient;
    this.#resolved = config.user;
  }

  /** The given workspace client, or one created on first use from the config's env. */
  get workspaceClient(): WorkspaceClient {
    this.#client ??= createWorkspaceClient(this.#config.env);
    return this.#client;
  }

  /**
   * The workspace URL that user tokens are sent to: `DATABRICKS_HOST` of the config's env, unless
   * a workspace client was given (then its host, as for the SDK default chain's).
   */
  async workspaceHost(): Promise<string> {
    const fromEnv = this.#config.env.DATABRICKS_HOST;
    if (!this.#config.workspaceClient && fromEnv) return fromEnv;
    return (await this.workspaceClient.config.getHost()).origin;
  }

  /** The role, once known (configured, or after `resolveUser()` succeeded). */
  current(): string | undefined {
    return this.#resolved;
  }

  /** Undefined when the role is known; else the (shared) SCIM lookup to wait for. */
  ready(): Promise<void> | undefined {
    if (this.#resolved !== undefined) return undefined;
    return this.resolveUser().then(() => undefined);
  }

  /** The role: configured, or SCIM `currentUser.me()` once (a failure is not remembered). */
  resolveUser(): Promise<string> {
    if (this.#resolved !== undefined) return Promise.resolve(this.#resolved);
    if (!this.#lookup) {
      const lookup = this.#meUserName();
      this.#lookup = lookup;
      lookup.then(
        (name) => {
          this.#resolved = name;
        },
        () => {
          if (this.#lookup === lookup) this.#lookup = undefined;
        },
      );
    }
    return this.#lookup;
  }

  async #meUserName(): Promise<string> {
    let userName: string | undefined;
    let cause: unknown;
    try {
      userName = nonEmpty((await this.workspaceClient.currentUser.me()).userName);
    } catch (error) {
      cause = error;
    }
    if (!userName) {
      throw new ConfigurationError(
        'Cannot determine the Postgres user: set option "user" or env PGUSER (or ' +
          'DATABRICKS_CLIENT_ID for a service principal); the workspace lookup ' +
          '(SCIM currentUser.me) failed',
        { option: 'user', envVar: 'PGUSER', cause: safeCause(cause) },
      );
    }
    return userName;
  }
}

/** The service principal's token cache for a config, or undefined in native-password mode. */
export function servicePrincipalTokens(
  config: ResolvedConfig,
  identity: ServicePrincipal,
  telemetry: Telemetry,
  options: { refreshAhead?: boolean } = {},
): TokenCache | undefined {
  if (config.password !== undefined || config.endpoint === undefined) return undefined;
  return new TokenCache({
    source: workspaceCredentialSource(
      () => identity.workspaceClient,
      { endpoint: config.endpoint, claims: config.claims ? [...config.claims] : undefined },
      { timeoutMs: config.credentialTimeoutMs },
    ),
    name: 'service principal',
    refreshBufferMs: config.refreshBufferMs,
    refreshAhead: options.refreshAhead ?? true,
    defaultWaitMs: config.pool.connectionTimeoutMillis || config.credentialTimeoutMs,
    logger: config.logger,
    telemetry,
    poolName: 'lakebase:sp',
  });
}

/** The service principal's `LakebasePool` for a resolved config. */
export function servicePrincipalPool(
  config: ResolvedConfig,
  telemetry: Telemetry,
  options: {
    ownsTelemetry: boolean;
    identity?: ServicePrincipal;
    tokens?: TokenCache;
    sessions?: LakebasePoolRuntime['sessions'];
    /** Time for the pool's deadlines and backoff (tests); default the real clock. */
    clock?: Clock;
    /** How it reaches the endpoint when the app scales out (pool-options.ts). */
    plan?: ConnectionPlan;
    /** `lakebase:sp` by default; the direct and read pools of a scaled-out app have their own. */
    poolName?: string;
    max?: number;
    /** A read pool's primary (with `plan.replica`): its `query()` runs there when the replica is behind. */
    primary?: LakebasePool;
    /** A native password role instead of the SP's OAuth login (the pooler's password role). */
    passwordRole?: { user: string; password: string | (() => string | Promise<string>) };
  },
): LakebasePool {
  const clock = options.clock ?? systemClock;
  const identity = options.identity ?? new ServicePrincipal(config);
  const poolName = options.poolName ?? 'lakebase:sp';
  const role = options.passwordRole;
  const tokens = role
    ? undefined
    : (options.tokens ?? servicePrincipalTokens(config, identity, telemetry));
  const { poolConfig, rejectedTokens } = lakebasePoolConfig({
    config: role ? { ...config, password: role.password } : config,
    poolName,
    userName: role ? role.user : identity.current(),
    user: role ? undefined : identity,
    passwords: role
      ? passwordSource({ ...config, password: role.password }, undefined)
      : passwordSource(config, tokens),
    telemetry,
    logger: config.logger,
    clock,
    plan: options.plan,
    max: options.max,
  });
  const runtime = {
    poolName,
    tokens,
    rejectedTokens,
    telemetry,
    ownsTelemetry: options.ownsTelemetry,
    logger: config.logger,
    clock,
    random: Math.random,
    identity: role ? undefined : identity,
    sessions: options.sessions,
    hostCheck: options.plan?.hostCheck,
    replica: options.plan?.replica,
    route: options.plan?.route,
  };
  const replica = options.plan?.replica;
  return replica && options.primary
    ? new ReadPool(poolConfig, { ...runtime, replica }, options.primary)
    : new LakebasePool(poolConfig, runtime);
}

/**
 * A standard `pg.Pool` (Drizzle, Prisma, Kysely, TypeORM... accept it) whose password is a
 * refreshed Lakebase OAuth token. Options first, then env (see README). Same name as the
 * official `@databricks/lakebase`.
 */
export function createLakebasePool(config: Partial<LakebasePoolConfig> = {}): LakebasePool {
  const resolved = resolveConfig(config);
  return servicePrincipalPool(resolved, new Telemetry(resolved.telemetry, resolved.endpoint), {
    ownsTelemetry: true,
  });
}
