/**
 * The on-behalf-of user pools, by identity: each user's `LakebasePool`, token cache and
 * credential source (minting with the newest verified forwarded token, through that token's
 * own SDK client), created on first verified use and kept across token rotation. All of them
 * share one budget on open connections (`maxConnections`). The number of pools is capped
 * (`maxPools`, least recently used evicted first) and a pool without connections is dropped
 * after `idleTimeoutMillis`; either way the pool ends gracefully, so requests already queued
 * on it are served by it before it goes. Nothing about a departed user (pool, token, SDK
 * client) is kept beyond that.
 */
import type { Clock } from '../base/clock.js';
import { systemClock } from '../base/clock.js';
import { ClosedError } from '../base/errors.js';
import { LruMap } from '../base/lru-map.js';
import type { UserPoolSettings } from '../config/lakebase-options.js';
import type { ResolvedConfig } from '../config/resolve-config.js';
import { ConnectionBudget } from '../pool/connection-budget.js';
import { LakebasePool } from '../pool/lakebase-pool.js';
import { type ConnectionPlan, lakebasePoolConfig } from '../pool/pool-options.js';
import { TokenCache } from '../pool/token-cache.js';
import type { Telemetry } from '../telemetry/telemetry.js';
import type { UserWorkspaceClients } from './identity/workspace-clients.js';
import type { MissingRoles } from './missing-roles.js';
import { UserCredentialSource, UserLoginPolicy, type VerifiedUser } from './user-credentials.js';

export type { VerifiedUser };

export interface UserPoolsOptions {
  config: ResolvedConfig;
  settings: UserPoolSettings;
  telemetry: Telemetry;
  clients: UserWorkspaceClients;
  missingRoles: MissingRoles;
  clock?: Clock;
  /** How the users' pools reach the endpoint when the app scales out (pool-options.ts). */
  plan?: ConnectionPlan;
}

export interface UserPoolsStats {
  pools: number;
  connections: number;
  idleConnections: number;
  peakConnections: number;
  maxConnections: number;
  /** Pools dropped by the `maxPools` cap. */
  evictions: number;
  /** Pools dropped after being empty for `idleTimeoutMillis`. */
  idleDrops: number;
  /** Idle connections closed to make room for another user's connection. */
  reclaims: number;
  waits: number;
  budgetTimeouts: number;
}

interface UserEntry {
  readonly identity: string;
  readonly pool: LakebasePool;
  readonly tokens: TokenCache;
  /** Its number in `lakebase:user:<n>` (given back when the pool has ended). */
  readonly number: number;
  /** Mints with the newest verified forwarded token. */
  readonly source: UserCredentialSource;
  lastUsed: number;
}

/**
 * Pool names `lakebase:user:<n>`: each user pool can be told apart in telemetry, with no
 * identity in it; a dropped pool's number is reused, so there are at most `maxPools` names.
 */
class PoolNumbers {
  #next = 1;
  readonly #free: number[] = [];

  take(): number {
    return this.#free.pop() ?? this.#next++;
  }

  give(n: number): void {
    this.#free.push(n);
  }
}

export class UserPools {
  readonly budget: ConnectionBudget;
  readonly #config: ResolvedConfig;
  readonly #settings: UserPoolSettings;
  readonly #telemetry: Telemetry;
  readonly #clients: UserWorkspaceClients;
  readonly #missingRoles: MissingRoles;
  readonly #clock: Clock;
  readonly #plan: ConnectionPlan | undefined;
  readonly #entries = new LruMap<string, UserEntry>(Number.POSITIVE_INFINITY);
  readonly #ending = new Set<Promise<void>>();
  readonly #numbers = new PoolNumbers();
  #sweepTimer: unknown;
  #evictions = 0;
  #idleDrops = 0;
  #closed = false;

  constructor(options: UserPoolsOptions) {
    this.#config = options.config;
    this.#settings = options.settings;
    this.#telemetry = options.telemetry;
    this.#clients = options.clients;
    this.#missingRoles = options.missingRoles;
    this.#clock = options.clock ?? systemClock;
    this.#plan = options.plan;
    this.budget = new ConnectionBudget({
      max: options.settings.maxConnections,
      clock: this.#clock,
    });
  }

  /**
   * The identity's pool (created if missing), marked most recently used; `user.token` becomes
   * the one its next credential fetch uses. Synchronous.
   * @throws AuthenticationError (403) when the identity is known to have no Postgres role
   * @throws ClosedError after close()
   */
  pool(user: VerifiedUser): LakebasePool {
    if (this.#closed) throw new ClosedError();
    const missing = this.#missingRoles.known(user.identity);
    if (missing) throw missing;
    let entry = this.#entries.get(user.identity);
    if (!entry) {
      entry = this.#create(user);
      this.#entries.set(user.identity, entry);
      this.#evictBeyondCap();
      this.#startSweeping();
    } else {
      entry.source.offer(user);
    }
    entry.lastUsed = this.#clock.now();
    this.budget.touch(entry.pool);
    return entry.pool;
  }

  /** A valid token of the identity (for pools built from a scope's `getPgConfig()`). */
  token(user: VerifiedUser, deadline: number): Promise<string> {
    this.pool(user);
    const entry = this.#entries.peek(user.identity) as UserEntry;
    return entry.tokens.getToken(deadline);
  }

  /** The identity's pool if it exists (for counters); no I/O, no recency change. */
  current(identity: string): LakebasePool | undefined {
    return this.#entries.peek(identity)?.pool;
  }

  /** Makes `user.token` the one the identity's next credential fetch uses (no I/O). */
  offer(user: VerifiedUser): void {
    this.#entries.peek(user.identity)?.source.offer(user);
  }

  /** The identities that have a pool now (for the doctor). */
  identities(): string[] {
    return [...this.#entries.values()].map((entry) => entry.identity);
  }

  stats(): UserPoolsStats {
    let connections = 0;
    let idleConnections = 0;
    for (const entry of this.#entries.values()) {
      connections += entry.pool.totalCount;
      idleConnections += entry.pool.idleCount;
    }
    const budget = this.budget.stats();
    return {
      pools: this.#entries.size,
      connections,
      idleConnections,
      peakConnections: budget.peak,
      maxConnections: budget.max,
      evictions: this.#evictions,
      idleDrops: this.#idleDrops,
      reclaims: budget.reclaims,
      waits: budget.waits,
      budgetTimeouts: budget.timeouts,
    };
  }

  /** Ends every user pool (accepted work finishes first); idempotent. */
  async close(): Promise<void> {
    if (!this.#closed) {
      this.#closed = true;
      this.#stopSweeping();
      for (const entry of [...this.#entries.values()]) this.#drop(entry);
    }
    while (this.#ending.size > 0) await Promise.allSettled([...this.#ending]);
    this.budget.close();
  }

  #create(user: VerifiedUser): UserEntry {
    const config = this.#config;
    const settings = this.#settings;
    const telemetry = this.#telemetry;
    const number = this.#numbers.take();
    const poolName = `lakebase:user:${number}`;
    const source = new UserCredentialSource(user, config, this.#clients);
    const tokens = new TokenCache({
      source,
      name: 'user',
      refreshBufferMs: config.refreshBufferMs,
      refreshAhead: false,
      defaultWaitMs: config.pool.connectionTimeoutMillis || config.credentialTimeoutMs,
      logger: config.logger,
      telemetry,
      poolName,
      clock: this.#clock,
    });
    const { poolConfig, rejectedTokens } = lakebasePoolConfig({
      config,
      poolName,
      userName: user.identity,
      passwords: tokens,
      telemetry,
      logger: config.logger,
      clock: this.#clock,
      slots: this.budget,
      max: settings.max,
      idleTimeoutMillis: settings.idleTimeoutMillis,
      plan: this.#plan,
    });
    const identity = user.identity;
    const pool = new LakebasePool(poolConfig, {
      poolName,
      tokens,
      rejectedTokens,
      telemetry,
      ownsTelemetry: false,
      logger: config.logger,
      clock: this.#clock,
      random: Math.random,
      login: new UserLoginPolicy(identity, this.#missingRoles),
      hostCheck: this.#plan?.hostCheck,
      replica: this.#plan?.replica,
      route: this.#plan?.route,
    });
    // Refresh ahead only while the pool holds connections: the forwarded token may be gone later.
    pool.on('connect', () => tokens.setRefreshAhead(true));
    pool.on('remove', () => {
      if (pool.totalCount === 0) tokens.setRefreshAhead(false);
    });
    this.budget.track(pool);
    const entry: UserEntry = {
      identity,
      pool,
      tokens,
      source,
      number,
      lastUsed: this.#clock.now(),
    };
    return entry;
  }

  #evictBeyondCap(): void {
    while (this.#entries.size > this.#settings.maxPools) {
      const oldest = this.#entries.keys().next();
      if (oldest.done) return;
      const entry = this.#entries.peek(oldest.value) as UserEntry;
      this.#evictions++;
      this.#config.logger.debug('lakebase: user pool evicted (userPools.maxPools)');
      this.#drop(entry);
    }
  }

  /** Forgets the entry and ends its pool gracefully (queued requests are served first). */
  #drop(entry: UserEntry): void {
    if (this.#entries.peek(entry.identity) === entry) this.#entries.delete(entry.identity);
    this.budget.untrack(entry.pool);
    entry.source.forget();
    if (entry.pool.isClosing) return;
    const ended = entry.pool
      .end()
      .catch((error: unknown) => {
        this.#config.logger.debug(
          `lakebase: ending a user pool failed: ${(error as Error).message}`,
        );
      })
      .finally(() => {
        this.#ending.delete(ended);
        this.#numbers.give(entry.number);
      });
    this.#ending.add(ended);
  }

  /** Drops pools without connections, unused for `idleTimeoutMillis`; runs while pools exist. */
  #startSweeping(): void {
    const idle = this.#settings.idleTimeoutMillis;
    if (this.#sweepTimer !== undefined || idle <= 0 || this.#closed) return;
    this.#sweepTimer = this.#clock.setTimeout(
      () => {
        this.#sweepTimer = undefined;
        const cutoff = this.#clock.now() - idle;
        for (const entry of [...this.#entries.values()]) {
          const { pool } = entry;
          if (entry.lastUsed <= cutoff && pool.totalCount === 0 && pool.waitingCount === 0) {
            this.#idleDrops++;
            this.#config.logger.debug('lakebase: user pool dropped (idle)');
            this.#drop(entry);
          }
        }
        if (this.#entries.size > 0) this.#startSweeping();
      },
      Math.max(1, idle / 2),
    );
    (this.#sweepTimer as { unref?: () => unknown } | undefined)?.unref?.();
  }

  #stopSweeping(): void {
    if (this.#sweepTimer !== undefined) this.#clock.clearTimeout(this.#sweepTimer);
    this.#sweepTimer = undefined;
  }
}
