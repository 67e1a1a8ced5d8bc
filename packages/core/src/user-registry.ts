/**
 * User pools by identity: created on first verified use, kept across token rotation, dropped
 * when empty for `idleTimeoutMillis`, capped in number (`maxPools`, least recently used
 * dropped first), and all sharing one budget on open connections (`maxConnections`).
 */
import type pg from 'pg';
import { budgetClientClass } from './budget-client.js';
import { ConnectionBudget } from './connection-budget.js';
import type { Logger } from './logger.js';
import { LruMap } from './lru-map.js';
import type { TokenProvider } from './types.js';

/** The newest verified forwarded token of a user (what their credential fetches use). */
export interface UserToken {
  value: string;
  fingerprint: string;
}

export interface UserPoolSettings {
  /** Connections per user pool. */
  max: number;
  /** Open user connections across all user pools. */
  maxConnections: number;
  /** User pools kept at once. */
  maxPools: number;
  /** An idle connection closes after this long; an empty pool is dropped after this long. */
  idleTimeoutMillis: number;
}

/** Builds one user's pool and token cache (the facade wires in config, telemetry, credentials). */
export type UserPoolFactory = (args: {
  identity: string;
  Client: typeof pg.Client;
  /** The newest verified token, read at each credential fetch. */
  token: () => UserToken;
}) => { pool: pg.Pool; tokens: TokenProvider };

export interface UserRegistryOptions {
  settings: UserPoolSettings;
  /** How long a new connection may wait for a budget slot. */
  connectionTimeoutMillis: number;
  createPool: UserPoolFactory;
  /** Called after an identity's pool was dropped (scopes fire their `onClose`). */
  onDrop?: (identity: string) => void;
  logger: Logger;
}

export interface UserEntry {
  readonly identity: string;
  readonly pool: pg.Pool;
  readonly tokens: TokenProvider;
  token: UserToken;
  lastUsed: number;
  emptyTimer: NodeJS.Timeout | undefined;
  dropped: boolean;
}

export interface UserRegistryStats {
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

export class UserRegistry {
  readonly budget: ConnectionBudget;
  private readonly settings: UserPoolSettings;
  private readonly entries: LruMap<string, UserEntry>;
  /** The budget-taking `pg.Client` class user pools are built with. */
  readonly Client: typeof pg.Client;
  private readonly createPool: UserPoolFactory;
  private readonly onDrop: ((identity: string) => void) | undefined;
  private readonly logger: Logger;
  private readonly ending = new Set<Promise<void>>();
  private evictions = 0;
  private idleDrops = 0;
  private reclaims = 0;
  private closed = false;

  constructor(options: UserRegistryOptions) {
    this.settings = options.settings;
    this.createPool = options.createPool;
    this.onDrop = options.onDrop;
    this.logger = options.logger;
    this.budget = new ConnectionBudget({
      max: options.settings.maxConnections,
      timeoutMillis: options.connectionTimeoutMillis,
      reclaim: () => this.reclaimIdle(),
    });
    this.Client = budgetClientClass(this.budget);
    this.entries = new LruMap(options.settings.maxPools, (_identity, entry) => {
      this.evictions++;
      this.drop(entry, 'evicted (userPools.maxPools)');
    });
  }

  /** The identity's pool (created with `token` if missing), marked most recently used. */
  open(identity: string, token: UserToken): UserEntry {
    if (this.closed) throw new Error('user registry is closed');
    let entry = this.entries.get(identity);
    if (!entry) {
      entry = this.create(identity, token);
      this.entries.set(identity, entry);
    }
    entry.lastUsed = Date.now();
    this.scheduleEmptyCheck(entry);
    return entry;
  }

  /** The identity's pool if it exists; does not change recency. */
  peek(identity: string): UserEntry | undefined {
    return this.entries.peek(identity);
  }

  /** Makes `token` the one the identity's next credential fetch uses (no I/O). */
  offerToken(identity: string, token: UserToken): void {
    const entry = this.entries.peek(identity);
    if (entry && entry.token.fingerprint !== token.fingerprint) entry.token = token;
  }

  stats(): UserRegistryStats {
    let connections = 0;
    let idleConnections = 0;
    for (const entry of this.entries.values()) {
      connections += entry.pool.totalCount;
      idleConnections += entry.pool.idleCount;
    }
    const budget = this.budget.stats();
    return {
      pools: this.entries.size,
      connections,
      idleConnections,
      peakConnections: budget.peak,
      maxConnections: budget.max,
      evictions: this.evictions,
      idleDrops: this.idleDrops,
      reclaims: this.reclaims,
      waits: budget.waits,
      budgetTimeouts: budget.timeouts,
    };
  }

  /** Ends every user pool (in-flight queries finish first); idempotent. */
  async close(): Promise<void> {
    if (!this.closed) {
      this.closed = true;
      this.budget.close();
      for (const entry of [...this.entries.values()]) this.drop(entry, 'closed');
      this.entries.clear();
    }
    while (this.ending.size > 0) await Promise.allSettled([...this.ending]);
  }

  private create(identity: string, token: UserToken): UserEntry {
    const holder: { entry?: UserEntry } = {};
    const { pool, tokens } = this.createPool({
      identity,
      Client: this.Client,
      token: () => holder.entry?.token ?? token,
    });
    const entry: UserEntry = {
      identity,
      pool,
      tokens,
      token,
      lastUsed: Date.now(),
      emptyTimer: undefined,
      dropped: false,
    };
    holder.entry = entry;
    tokens.setRefreshAhead(false);
    pool.on('error', (error: Error) => {
      this.logger.debug(`lakebase: idle user connection closed: ${error.message}`);
    });
    pool.on('connect', () => {
      // refresh ahead only while the pool holds connections: the forwarded token may be gone later
      tokens.setRefreshAhead(true);
    });
    pool.on('release', () => {
      // a connection may have gone idle: let a waiter for a budget slot reclaim it
      if (this.budget.stats().waiting > 0) setImmediate(() => this.budget.poke());
    });
    pool.on('remove', () => {
      if (pool.totalCount === 0) {
        tokens.setRefreshAhead(false);
        this.scheduleEmptyCheck(entry);
      }
    });
    return entry;
  }

  /** Drops the pool once it has had no connection for `idleTimeoutMillis`. */
  private scheduleEmptyCheck(entry: UserEntry, delay = this.settings.idleTimeoutMillis): void {
    if (entry.emptyTimer || entry.dropped || this.settings.idleTimeoutMillis <= 0) return;
    entry.emptyTimer = setTimeout(
      () => {
        entry.emptyTimer = undefined;
        if (entry.dropped || entry.pool.totalCount > 0 || entry.pool.waitingCount > 0) return;
        const quiet = Date.now() - entry.lastUsed;
        if (quiet < this.settings.idleTimeoutMillis) {
          this.scheduleEmptyCheck(entry, this.settings.idleTimeoutMillis - quiet);
          return;
        }
        if (this.entries.peek(entry.identity) === entry) this.entries.delete(entry.identity);
        this.idleDrops++;
        this.drop(entry, 'idle');
      },
      Math.max(1, delay),
    );
    entry.emptyTimer.unref();
  }

  private drop(entry: UserEntry, reason: string): void {
    if (entry.dropped) return;
    entry.dropped = true;
    if (entry.emptyTimer) clearTimeout(entry.emptyTimer);
    entry.emptyTimer = undefined;
    this.logger.debug(`lakebase: user pool dropped (${reason})`);
    const ended = (entry.pool.ending ? Promise.resolve() : entry.pool.end())
      .catch((error: unknown) => {
        this.logger.debug(`lakebase: ending a user pool failed: ${(error as Error).message}`);
      })
      .finally(() => {
        entry.tokens.close();
        this.ending.delete(ended);
      });
    this.ending.add(ended);
    this.onDrop?.(entry.identity);
  }

  /** Closes one idle connection of the least recently used pool that has one. */
  private async reclaimIdle(): Promise<boolean> {
    for (const entry of this.entries.values()) {
      const pool = entry.pool;
      if (entry.dropped || pool.ending || pool.idleCount === 0 || pool.waitingCount > 0) continue;
      this.reclaims++;
      const client = await pool.connect();
      client.release(true);
      return true;
    }
    return false;
  }
}
