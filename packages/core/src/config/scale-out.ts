/**
 * The scale-out options of `createLakebase()` — the pooled host (`pooler`), a read-only endpoint
 * (`read`) and the check of the configured hosts against the endpoint (`hostCheck`) — with
 * their environment variables, validated into `ScaleOut`. No I/O: the endpoint's hosts are
 * asked for by pool/endpoint-hosts.ts.
 *
 * Lakebase's pooled host is the direct one with `-pooler` after the endpoint id
 * (`ep-x.database.<region>...` ↔ `ep-x-pooler.database.<region>...`), PgBouncer in transaction
 * mode; so a `PGHOST` that is a pooler host turns pooled mode on, and the direct host (for
 * sessions and migrations) is the same name without `-pooler`.
 */
import { validateEndpoint } from '../base/endpoint-path.js';
import { ConfigurationError, ValidationError } from '../base/errors.js';
import type { ResolvedConfig } from './resolve-config.js';

/** What a host that does not belong to the endpoint is: an error (default), a warning, or unchecked. */
export type HostCheckMode = 'error' | 'warn' | 'off';
const HOST_CHECKS: readonly HostCheckMode[] = ['error', 'warn', 'off'];

/** How reads on the read-only endpoint see the app's own writes. */
export type ReadConsistency = 'read-your-writes' | 'eventual';
const CONSISTENCIES: readonly ReadConsistency[] = ['read-your-writes', 'eventual'];

/** Lakebase's pooled host (PgBouncer, transaction mode). */
export interface PoolerOptions {
  /**
   * `host` or `host:port` of the pooler; default the direct host with `-pooler` (env
   * `LAKEBASE_POOLER_HOST`, its port `LAKEBASE_POOLER_PORT` or PGPORT).
   */
  host?: string;
  /**
   * A native Postgres password role for the service principal's pooled connections, where the
   * pooler takes no OAuth logins (env `LAKEBASE_POOLER_USER`); needs `password`.
   */
  user?: string;
  /** That role's password (env `LAKEBASE_POOLER_PASSWORD`); never logged. */
  password?: string | (() => string | Promise<string>);
  /** When the pooler refuses OAuth logins, use the direct host instead (default true). */
  fallback?: boolean;
  /** Connections of the service principal's direct pool, for sessions and migrations (default 5). */
  directMax?: number;
}

/** A read-only endpoint (a read replica on the same storage). */
export interface ReadOptions {
  /** `projects/<p>/branches/<b>/endpoints/<e>` of the read-only endpoint (env `LAKEBASE_READ_ENDPOINT`). */
  endpoint?: string;
  /**
   * `host` or `host:port` of the read-only endpoint (env `LAKEBASE_READ_HOST`, its port
   * `LAKEBASE_READ_PORT` or PGPORT): `status.hosts.host`
   * of `endpoint`, or `read_only_host` of the primary endpoint. Checked against the endpoints API
   * with the other hosts (`hostCheck`).
   */
  host?: string;
  /**
   * `read-your-writes` (default): a read after a write that this `Lakebase` committed sees it —
   * the replica is waited for (up to `maxWaitMs`), else the read runs on the primary.
   * `eventual`: reads never wait.
   */
  consistency?: ReadConsistency;
  /** How long a read waits for the replica to replay this app's last write (default 200). */
  maxWaitMs?: number;
  /** Connections of the service principal's read pool (default: the pool's `max`). */
  max?: number;
}

export interface ScaleOutOptions {
  /** Use Lakebase's pooled host (`true`, or its options). On when `PGHOST` is a `-pooler` host. */
  pooler?: boolean | PoolerOptions;
  /** Route `lakebase.read` and `asUser(req).read` to a read-only endpoint. */
  read?: boolean | ReadOptions;
  /**
   * Check at the first connection that the hosts belong to `LAKEBASE_ENDPOINT` (endpoints API):
   * `error` (default) fails every connection with a `ConfigurationError`, `warn` logs once,
   * `off` does not ask (env `LAKEBASE_HOST_CHECK`).
   */
  hostCheck?: HostCheckMode;
}

export interface HostPort {
  host: string;
  port: number;
}

export interface ResolvedPooler extends HostPort {
  /** The native role of the SP's pooled connections (with `password`), if given. */
  user: string | undefined;
  password: string | (() => string | Promise<string>) | undefined;
  fallback: boolean;
  directMax: number;
}

export interface ResolvedRead {
  endpoint: string | undefined;
  host: HostPort;
  consistency: ReadConsistency;
  maxWaitMs: number;
  max: number;
}

export interface ScaleOut {
  hostCheck: HostCheckMode;
  /** The direct read-write host (sessions, migrations, `LISTEN`). */
  direct: HostPort;
  /** The pooled host, when pooled mode is on. */
  pooler: ResolvedPooler | undefined;
  read: ResolvedRead | undefined;
}

const POOLER_SUFFIX = '-pooler';

/** True for a Lakebase pooled host (its first label ends with `-pooler`). */
export function isPoolerHost(host: string): boolean {
  const first = host.split('.')[0] ?? '';
  return first.length > POOLER_SUFFIX.length && first.endsWith(POOLER_SUFFIX);
}

/** The pooled host of a direct one, and the other way round (first label only). */
export function poolerHostOf(host: string): string {
  const [first, ...rest] = host.split('.');
  return [`${first}${POOLER_SUFFIX}`, ...rest].join('.');
}
export function directHostOf(host: string): string {
  const [first, ...rest] = host.split('.');
  return [(first ?? '').slice(0, -POOLER_SUFFIX.length), ...rest].join('.');
}

function nonEmpty(value: unknown): string | undefined {
  if (typeof value !== 'string') return undefined;
  const trimmed = value.trim();
  return trimmed === '' ? undefined : trimmed;
}

/** `host` or `host:port` (`[v6]:port` too); the port defaults to `port`. */
export function parseHostPort(
  text: string,
  port: number,
  option: string,
  envVar: string,
): HostPort {
  const invalid = () =>
    new ValidationError(`Invalid ${option} / env ${envVar} "${text}": expected host or host:port`, {
      option,
      envVar,
    });
  const v6 = /^\[([^\]]+)\](?::(\d+))?$/.exec(text);
  const match = v6 ?? /^([^:/\s]+)(?::(\d+))?$/.exec(text);
  if (!match?.[1]) throw invalid();
  const parsed = match[2] === undefined ? port : Number(match[2]);
  if (!Number.isInteger(parsed) || parsed < 1 || parsed > 65535) throw invalid();
  return { host: match[1], port: parsed };
}

/** A port from the environment (`LAKEBASE_POOLER_PORT`, `LAKEBASE_READ_PORT`), if set. */
function envPort(value: string | undefined, envVar: string): number | undefined {
  const text = nonEmpty(value);
  if (text === undefined) return undefined;
  const port = Number(text);
  if (!Number.isInteger(port) || port < 1 || port > 65535) {
    throw new ValidationError(`Invalid env ${envVar} "${text}": expected an integer 1-65535`, {
      envVar,
    });
  }
  return port;
}

function flag(value: string | undefined, envVar: string): boolean | undefined {
  if (value === undefined) return undefined;
  if (/^(1|true|yes|on)$/i.test(value)) return true;
  if (/^(0|false|no|off)$/i.test(value)) return false;
  throw new ValidationError(`Invalid env ${envVar} "${value}": expected true or false`, {
    envVar,
  });
}

function objectOrFlag<T extends object>(
  name: string,
  value: boolean | T | undefined,
): T | boolean | undefined {
  if (value === undefined || typeof value === 'boolean') return value;
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new ValidationError(`Invalid option "${name}": expected true, false or an object`, {
      option: name,
    });
  }
  return value;
}

function positive(name: string, value: unknown, fallback: number, integer = true): number {
  if (value === undefined) return fallback;
  if (
    typeof value !== 'number' ||
    !Number.isFinite(value) ||
    value < (integer ? 1 : 0) ||
    (integer && !Number.isInteger(value))
  ) {
    throw new ValidationError(
      `Invalid option "${name}": expected a ${integer ? 'positive integer' : 'non-negative number'}, got ${JSON.stringify(value)}`,
      { option: name },
    );
  }
  return value;
}

function resolvePooler(
  option: ScaleOutOptions['pooler'],
  config: ResolvedConfig,
): { direct: HostPort; pooler: ResolvedPooler | undefined } {
  const env = config.env;
  const given = objectOrFlag('pooler', option);
  const enabled = given ?? flag(nonEmpty(env.LAKEBASE_POOLER), 'LAKEBASE_POOLER');
  const pgHostIsPooler = isPoolerHost(config.host);
  if (enabled === false) {
    if (pgHostIsPooler) {
      throw new ConfigurationError(
        `PGHOST ${config.host} is Lakebase's pooled host (PgBouncer, transaction mode) but option ` +
          '"pooler" is false: set PGHOST to the direct host, or leave "pooler" unset',
        { option: 'pooler', envVar: 'PGHOST' },
      );
    }
    return { direct: { host: config.host, port: config.port }, pooler: undefined };
  }
  if (enabled === undefined && !pgHostIsPooler) {
    return { direct: { host: config.host, port: config.port }, pooler: undefined };
  }
  const options: PoolerOptions = typeof given === 'object' ? given : {};
  const hostText = nonEmpty(options.host) ?? nonEmpty(env.LAKEBASE_POOLER_HOST);
  const direct: HostPort = {
    host: pgHostIsPooler ? directHostOf(config.host) : config.host,
    port: config.port,
  };
  const pooled: HostPort = hostText
    ? parseHostPort(
        hostText,
        envPort(env.LAKEBASE_POOLER_PORT, 'LAKEBASE_POOLER_PORT') ?? config.port,
        'option "pooler.host"',
        'LAKEBASE_POOLER_HOST',
      )
    : { host: pgHostIsPooler ? config.host : poolerHostOf(config.host), port: config.port };
  const user = nonEmpty(options.user) ?? nonEmpty(env.LAKEBASE_POOLER_USER);
  const password =
    options.password ??
    (env.LAKEBASE_POOLER_PASSWORD === undefined || env.LAKEBASE_POOLER_PASSWORD === ''
      ? undefined
      : env.LAKEBASE_POOLER_PASSWORD);
  if (password !== undefined && typeof password !== 'string' && typeof password !== 'function') {
    throw new ValidationError('Invalid option "pooler.password": expected a string or a function', {
      option: 'pooler.password',
    });
  }
  if ((user === undefined) !== (password === undefined)) {
    throw new ConfigurationError(
      'The pooler password role needs both its name and its password: set option "pooler.user" ' +
        'and "pooler.password" (env LAKEBASE_POOLER_USER and LAKEBASE_POOLER_PASSWORD), or neither',
      { option: user === undefined ? 'pooler.user' : 'pooler.password' },
    );
  }
  if (options.fallback !== undefined && typeof options.fallback !== 'boolean') {
    throw new ValidationError('Invalid option "pooler.fallback": expected true or false', {
      option: 'pooler.fallback',
    });
  }
  return {
    direct,
    pooler: {
      ...pooled,
      user,
      password,
      fallback: options.fallback ?? true,
      directMax: positive('pooler.directMax', options.directMax, 5),
    },
  };
}

function resolveRead(
  option: ScaleOutOptions['read'],
  config: ResolvedConfig,
): ResolvedRead | undefined {
  const env = config.env;
  const given = objectOrFlag('read', option);
  if (given === false) return undefined;
  const options: ReadOptions = typeof given === 'object' ? given : {};
  const endpointText = nonEmpty(options.endpoint) ?? nonEmpty(env.LAKEBASE_READ_ENDPOINT);
  const hostText = nonEmpty(options.host) ?? nonEmpty(env.LAKEBASE_READ_HOST);
  if (given === undefined && endpointText === undefined && hostText === undefined) return undefined;
  if (hostText === undefined) {
    throw new ConfigurationError(
      'The read-only endpoint\'s host is missing: set option "read.host" or env LAKEBASE_READ_HOST ' +
        '(status.hosts.host of the read-only endpoint, or read_only_host of the primary one; ' +
        '`lakebase-kit doctor` prints it)',
      { option: 'read.host', envVar: 'LAKEBASE_READ_HOST' },
    );
  }
  const consistency = options.consistency ?? 'read-your-writes';
  if (!CONSISTENCIES.includes(consistency)) {
    throw new ValidationError(
      `Invalid option "read.consistency": expected one of ${CONSISTENCIES.join(', ')}, got ${JSON.stringify(consistency)}`,
      { option: 'read.consistency' },
    );
  }
  const host = parseHostPort(
    hostText,
    envPort(env.LAKEBASE_READ_PORT, 'LAKEBASE_READ_PORT') ?? config.port,
    'option "read.host"',
    'LAKEBASE_READ_HOST',
  );
  if (isPoolerHost(host.host)) {
    // the read side runs set-role sessions and checks of its own, which need the direct host
    throw new ConfigurationError(
      `The read-only host ${host.host} is a pooled host (PgBouncer): the read side connects to ` +
        'the read-only endpoint directly. Set option "read.host" or env LAKEBASE_READ_HOST to ' +
        `${directHostOf(host.host)} (status.hosts.host of the read-only endpoint)`,
      { option: 'read.host', envVar: 'LAKEBASE_READ_HOST' },
    );
  }
  return {
    endpoint: endpointText === undefined ? undefined : validateEndpoint(endpointText),
    host,
    consistency,
    maxWaitMs: positive('read.maxWaitMs', options.maxWaitMs, 200, false),
    max: positive('read.max', options.max, config.pool.max),
  };
}

/** The scale-out options and their environment, validated. */
export function resolveScaleOut(options: ScaleOutOptions, config: ResolvedConfig): ScaleOut {
  const hostCheck =
    options.hostCheck ?? (nonEmpty(config.env.LAKEBASE_HOST_CHECK) as HostCheckMode | undefined);
  if (hostCheck !== undefined && !HOST_CHECKS.includes(hostCheck)) {
    throw new ValidationError(
      `Invalid option "hostCheck" / env LAKEBASE_HOST_CHECK: expected one of ${HOST_CHECKS.join(', ')}, got ${JSON.stringify(hostCheck)}`,
      { option: 'hostCheck', envVar: 'LAKEBASE_HOST_CHECK' },
    );
  }
  const { direct, pooler } = resolvePooler(options.pooler, config);
  return Object.freeze({
    hostCheck: hostCheck ?? 'error',
    direct,
    pooler,
    read: resolveRead(options.read, config),
  });
}
