/**
 * The service principal's pools of one `Lakebase`, and how every pool of it reaches Lakebase
 * when the app scales out:
 *
 *   pool    the SP's pool: on the pooled host in pooled mode (back to the direct host if the
 *           pooler refuses OAuth), else on PGHOST;
 *   direct  pooled mode only: the SP's small pool on the direct host, for sessions (set-role
 *           `connect()`, LISTEN, migrations);
 *   read    with a read-only endpoint: the SP's pool there (read-your-writes, primary fallback).
 *
 * Every pool of it, the users' too, first waits for the one check of the hosts against the
 * endpoint (`HostCheck`).
 */

import type pg from 'pg';
import { systemClock } from './base/clock.js';
import type { UserPoolsMode } from './config/lakebase-options.js';
import type { ResolvedConfig } from './config/resolve-config.js';
import type { ScaleOut } from './config/scale-out.js';
import type { LakebaseStats, PoolCounts } from './lakebase-types.js';
import { missingRoleMessage } from './obo/missing-roles.js';
import { SessionStates } from './obo/set-role/session-state.js';
import type { SetRoleSide } from './obo/set-role/set-role-route.js';
import type { UserPoolStats } from './obo/types.js';
import {
  EndpointDirectory,
  type EndpointHosts,
  type ExpectedHost,
  HostCheck,
} from './pool/endpoint-hosts.js';
import { HostRoute } from './pool/host-route.js';
import type { LakebasePool } from './pool/lakebase-pool.js';
import type { ConnectionPlan } from './pool/pool-options.js';
import { PooledStatements } from './pool/pooled-statements.js';
import { ReplicaGate } from './pool/replica-gate.js';
import {
  type ServicePrincipal,
  servicePrincipalPool,
  servicePrincipalTokens,
} from './pool/service-principal.js';
import type { TokenCache } from './pool/token-cache.js';
import { WriteLsn } from './pool/write-lsn.js';
import type { Telemetry } from './telemetry/telemetry.js';

/**
 * Pooled login mode: how many different users the pooler must refuse (with fresh tokens) before
 * every user's connections go to the direct host (one role that cannot log in is that user's
 * problem, not the pooler's).
 */
const USERS_REFUSED_BEFORE_FALLBACK = 3;

export interface ReadSide {
  config: ResolvedConfig;
  pool: LakebasePool;
  side: SetRoleSide;
  plan: ConnectionPlan & { replica: ReplicaGate };
  gate: ReplicaGate;
  writes: WriteLsn;
}

export interface ServicePrincipalPools {
  pool: LakebasePool;
  direct: LakebasePool;
  side: SetRoleSide;
  /** How the users' own pools reach the primary. */
  userPlan: ConnectionPlan;
  read: ReadSide | undefined;
  hostCheck: HostCheck | undefined;
  /** Pooled mode: where the SP's and the users' connections go. */
  routes: { sp: HostRoute; users: HostRoute } | undefined;
}

function hostsOf(
  config: ResolvedConfig,
  scale: ScaleOut,
  readConfig: ResolvedConfig | undefined,
  readEndpoint: string | undefined,
): ExpectedHost[] {
  const endpoint = config.endpoint;
  if (endpoint === undefined) return [];
  const readWrite = (h: EndpointHosts) => [h.host, h.readWritePooledHost];
  const expected: ExpectedHost[] = [
    {
      what: 'PGHOST',
      configured: { host: config.host, port: config.port },
      endpoint,
      oneOf: readWrite,
    },
  ];
  if (scale.pooler) {
    expected.push({
      what: 'the pooled host',
      configured: scale.pooler,
      endpoint,
      oneOf: (h) => [h.readWritePooledHost],
    });
    expected.push({
      what: 'the direct host',
      configured: scale.direct,
      endpoint,
      oneOf: (h) => [h.host],
    });
  }
  if (readConfig) {
    expected.push({
      what: 'the read-only host',
      configured: { host: readConfig.host, port: readConfig.port },
      endpoint: readEndpoint ?? endpoint,
      // direct hosts only: the read side runs sessions (resolveRead refuses a -pooler name)
      oneOf: (h) => (readEndpoint ? [h.host, h.readOnlyHost] : [h.readOnlyHost]),
    });
  }
  return expected;
}

export function servicePrincipalPools(parts: {
  config: ResolvedConfig;
  scale: ScaleOut;
  mode: UserPoolsMode;
  telemetry: Telemetry;
  identity: ServicePrincipal;
  tokens: TokenCache | undefined;
}): ServicePrincipalPools {
  const { config, scale, mode, telemetry, identity } = parts;
  const logger = config.logger;
  const setRole = mode !== 'login';
  const readConfig: ResolvedConfig | undefined = scale.read
    ? Object.freeze({
        ...config,
        endpoint: scale.read.endpoint ?? config.endpoint,
        host: scale.read.host.host,
        port: scale.read.host.port,
      })
    : undefined;
  const hostCheck =
    config.endpoint !== undefined && scale.hostCheck !== 'off'
      ? new HostCheck(
          scale.hostCheck,
          new EndpointDirectory(identity, systemClock, config.credentialTimeoutMs),
          hostsOf(config, scale, readConfig, scale.read?.endpoint),
          logger,
        )
      : undefined;
  // positions after writes only where a read waits for them
  const writes = scale.read?.consistency === 'read-your-writes' ? new WriteLsn() : undefined;
  const sessionsOf = (pooled: boolean) =>
    setRole
      ? new SessionStates({
          endpoint: config.endpoint,
          missingRoleMessage: (who) => missingRoleMessage(who, config.endpoint),
          pooled,
        })
      : undefined;

  const pooler = scale.pooler;
  let pool: LakebasePool;
  let direct: LakebasePool;
  let side: SetRoleSide;
  let routes: ServicePrincipalPools['routes'];
  let userPlan: ConnectionPlan = { hostCheck, writes };
  if (pooler) {
    const passwordRole =
      pooler.user !== undefined && pooler.password !== undefined
        ? { user: pooler.user, password: pooler.password }
        : undefined;
    const spRoute = new HostRoute(scale.direct, pooler, {
      allowFallback: pooler.fallback && passwordRole === undefined,
      logger,
      poolName: 'lakebase:sp',
    });
    routes = {
      sp: spRoute,
      // one user's role that cannot log in never moves every user off the pooler
      users: new HostRoute(scale.direct, pooler, {
        allowFallback: pooler.fallback,
        logger,
        poolName: 'lakebase:user',
        distinct: USERS_REFUSED_BEFORE_FALLBACK,
        follows: spRoute,
      }),
    };
    const pooled = new PooledStatements(pooler.host);
    const pooledSessions = sessionsOf(true);
    const directSessions = sessionsOf(false);
    pool = servicePrincipalPool(config, telemetry, {
      ownsTelemetry: false,
      identity,
      tokens: passwordRole ? undefined : parts.tokens,
      sessions: pooledSessions,
      passwordRole,
      plan: { hostCheck, writes, route: routes.sp, pooled },
    });
    direct = servicePrincipalPool(
      { ...config, host: scale.direct.host, port: scale.direct.port },
      telemetry,
      {
        ownsTelemetry: false,
        identity,
        // its own token cache: each pool ends its own
        tokens: passwordRole ? parts.tokens : undefined,
        sessions: directSessions,
        poolName: 'lakebase:sp-direct',
        max: pooler.directMax,
        plan: { hostCheck, writes },
      },
    );
    side = {
      sp: pool,
      sessions: pooledSessions ?? unusedSessions(config),
      direct: { sp: direct, sessions: directSessions ?? unusedSessions(config) },
      writes,
    };
    userPlan = { hostCheck, writes, route: routes.users, pooled };
  } else {
    const sessions = sessionsOf(false);
    pool = servicePrincipalPool(config, telemetry, {
      ownsTelemetry: false,
      identity,
      tokens: parts.tokens,
      sessions,
      plan: { hostCheck, writes },
    });
    direct = pool;
    side = { sp: pool, sessions: sessions ?? unusedSessions(config), writes };
  }

  let read: ReadSide | undefined;
  if (scale.read && readConfig) {
    // `eventual`: a tracker nobody writes to, so the gate never waits
    const seen = writes ?? new WriteLsn();
    const gate = new ReplicaGate(seen, systemClock, scale.read.maxWaitMs);
    const plan = { hostCheck, replica: gate };
    const readSessions = sessionsOf(false);
    const readPool = servicePrincipalPool(readConfig, telemetry, {
      ownsTelemetry: false,
      identity,
      tokens: servicePrincipalTokens(readConfig, identity, telemetry),
      sessions: readSessions,
      poolName: 'lakebase:sp-read',
      max: scale.read.max,
      plan,
      primary: pool,
    });
    read = {
      config: readConfig,
      pool: readPool,
      side: { sp: readPool, sessions: readSessions ?? unusedSessions(config) },
      plan,
      gate,
      writes: seen,
    };
  }
  return { pool, direct, side, userPlan, read, hostCheck, routes };
}

/** Login mode runs nothing under SET ROLE; the routes still take a (never used) session state. */
function unusedSessions(config: ResolvedConfig): SessionStates {
  return new SessionStates({
    endpoint: config.endpoint,
    missingRoleMessage: (who) => missingRoleMessage(who, config.endpoint),
  });
}

function counts(pool: pg.Pool): PoolCounts {
  return {
    totalCount: pool.totalCount,
    idleCount: pool.idleCount,
    waitingCount: pool.waitingCount,
  };
}

/** The pooler's and the read-only endpoint's parts of `stats()`, when they are on. */
export function scaleOutStats(
  pools: ServicePrincipalPools,
  readUsers: UserPoolStats | undefined,
): Pick<LakebaseStats, 'pooler' | 'read'> {
  const { routes, read } = pools;
  return {
    ...(routes && {
      pooler: { sp: routes.sp.stats(), users: routes.users.stats(), direct: counts(pools.direct) },
    }),
    ...(read &&
      readUsers && {
        read: {
          ...counts(read.pool),
          ...read.gate.stats(),
          writes: read.writes.writes,
          users: readUsers,
        },
      }),
  };
}
