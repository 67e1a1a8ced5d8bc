/**
 * `createLakebase()`: composes the service principal's pool with the on-behalf-of side, and
 * closes them in order. Everything is passed down; nothing calls back up.
 *
 *   asUser(req) ───────▶ OnBehalfOf (identity, router, user pools, scopes; obo/on-behalf-of.ts)
 *   query / pool ──────▶ LakebasePool (SP) ◀── SessionStates (set-role hand-offs)
 *   doctor() ──────────▶ runDoctor (admin/), as this app
 */
import type pg from 'pg';
import { runDoctor } from './admin/doctor.js';
import { ClosedError } from './base/errors.js';
import type { OrmConfig, RequestLike } from './base/types.js';
import {
  developmentFallbackEnabled,
  type LakebaseConfig,
  resolveUserPools,
  type UserPoolsMode,
} from './config/lakebase-options.js';
import { type ResolvedConfig, resolveConfig } from './config/resolve-config.js';
import { resolveScaleOut } from './config/scale-out.js';
import {
  type ServicePrincipalPools,
  scaleOutStats,
  servicePrincipalPools,
} from './lakebase-pools.js';
import { ReadFacade } from './lakebase-read.js';
import type {
  DoctorReport,
  Lakebase,
  LakebaseDoctorOptions,
  LakebaseRead,
  LakebaseStats,
} from './lakebase-types.js';
import { OnBehalfOf } from './obo/on-behalf-of.js';
import type { UserScope } from './obo/types.js';
import { IdentityPgConfigSource, toOrmConfig } from './pool/external-config.js';
import type { LakebasePool } from './pool/lakebase-pool.js';
import { ServicePrincipal, servicePrincipalTokens } from './pool/service-principal.js';
import type { TokenCache } from './pool/token-cache.js';
import { Telemetry } from './telemetry/telemetry.js';

const NO_TOKEN_STATS = Object.freeze({
  hits: 0,
  misses: 0,
  refreshes: 0,
  failures: 0,
  invalidations: 0,
});

class LakebaseFacade implements Lakebase {
  readonly pool: LakebasePool;
  readonly direct: LakebasePool;
  readonly read: LakebaseRead;
  readonly #config: ResolvedConfig;
  /** What the SP pool was made with, for `doctor()`'s config checks. */
  readonly #poolOptions: Partial<LakebaseConfig>;
  readonly #mode: UserPoolsMode;
  readonly #telemetry: Telemetry;
  readonly #sp: ServicePrincipal;
  readonly #spTokens: TokenCache | undefined;
  readonly #spPgConfig: IdentityPgConfigSource;
  readonly #pools: ServicePrincipalPools;
  readonly #users: OnBehalfOf;
  #closing: Promise<void> | undefined;

  constructor(options: LakebaseConfig) {
    const {
      userPools,
      developmentFallback: _fallback,
      env: envOption,
      pooler,
      read,
      hostCheck,
      ...poolOptions
    } = options;
    const env = envOption ?? process.env;
    const config = resolveConfig(poolOptions, env);
    const scale = resolveScaleOut({ pooler, read, hostCheck }, config);
    const settings = resolveUserPools(userPools);
    this.#config = config;
    this.#poolOptions = poolOptions;
    this.#mode = settings.mode;
    const telemetry = new Telemetry(config.telemetry, config.endpoint);
    const sp = new ServicePrincipal(config);
    const tokens = servicePrincipalTokens(config, sp, telemetry);
    this.#telemetry = telemetry;
    this.#sp = sp;
    this.#spTokens = tokens;
    this.#spPgConfig = new IdentityPgConfigSource(config, sp, telemetry, tokens);
    const pools = servicePrincipalPools({
      config,
      scale,
      mode: settings.mode,
      telemetry,
      identity: sp,
      tokens,
    });
    this.#pools = pools;
    this.pool = pools.pool;
    this.direct = pools.direct;
    this.read = new ReadFacade(pools.pool, pools.read);
    this.#users = new OnBehalfOf({
      config,
      settings,
      telemetry,
      side: pools.side,
      spIdentity: sp,
      spPgConfig: this.#spPgConfig,
      plan: pools.userPlan,
      read: pools.read,
      developmentFallback: developmentFallbackEnabled(options, env),
      loggerGiven: options.logger !== undefined,
    });
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

  async ready(): Promise<void> {
    if (this.#closing) throw new ClosedError();
    await this.#pools.hostCheck?.ready();
  }

  getOrmConfig(): OrmConfig {
    const config = this.getPgConfig();
    return toOrmConfig(config, config.user, 'getOrmConfig');
  }

  asUser(req: RequestLike): UserScope {
    if (this.#closing) throw new ClosedError();
    return this.#users.asUser(req);
  }

  close(): Promise<void> {
    this.#closing ??= (async () => {
      // The user side takes no new work, and what it accepted reaches a pool (the SP's, in
      // set-role mode); then the SP pools end after what they accepted, the user pools too, and
      // the gauges go.
      await this.#users.stopAdmitting();
      const spEnded = Promise.all(
        [this.pool, this.direct, this.#pools.read?.pool].map((pool) =>
          !pool || pool.isClosing ? undefined : pool.end(),
        ),
      ).then(() => undefined);
      await this.#users.close(spEnded);
      this.#telemetry.close();
    })();
    return this.#closing;
  }

  /**
   * The doctor's checks (see `runDoctor`) as this app: its config, credentials, login, TLS,
   * ownership, RLS, and the roles of the verified identities `asUser(req)` has seen. Never throws.
   */
  doctor(options: LakebaseDoctorOptions = {}): Promise<DoctorReport> {
    const seen = new Set([...this.#users.identities(), ...(options.identities ?? [])]);
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
    return {
      sp: {
        totalCount: this.pool.totalCount,
        idleCount: this.pool.idleCount,
        waitingCount: this.pool.waitingCount,
        token: this.#spTokens?.stats() ?? { ...NO_TOKEN_STATS },
      },
      users: this.#users.stats(),
      ...scaleOutStats(this.#pools, this.#users.readStats()),
    };
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
