/**
 * Options + environment → one frozen, validated configuration. No I/O: the root certificate is
 * read by tls.ts, the workspace client and the SCIM user lookup live in service-principal.ts.
 * Every error names both the option and the environment variable it could come from.
 */
import type { WorkspaceClient } from '@databricks/sdk-experimental';
import type pg from 'pg';
import { validateEndpoint } from '../base/endpoint-path.js';
import { ConfigurationError, ValidationError } from '../base/errors.js';
import { type Logger, resolveLogger } from '../base/logger.js';
import type {
  LakebasePoolConfig,
  RequestedClaims,
  SslMode,
  TelemetryNames,
} from '../base/types.js';

export { validateEndpoint };

export const DEFAULTS = Object.freeze({
  port: 5432,
  sslMode: 'require' as SslMode,
  max: 10,
  connectionTimeoutMillis: 10_000,
  idleTimeoutMillis: 30_000,
  /** Lakebase closes connections after 3 days; recycle long before that. */
  maxLifetimeSeconds: 3600,
  refreshBufferMs: 120_000,
  /** One credential API call; the default is also capped below `connectionTimeoutMillis`. */
  credentialTimeoutMs: 30_000,
  applicationName: 'lakebase-kit',
});

const SSL_MODES: readonly SslMode[] = [
  'disable',
  'allow',
  'prefer',
  'require',
  'verify-ca',
  'verify-full',
];

/** pg options that pass through unchanged to `pg.Pool` (everything we do not own). */
export type PassThroughPoolOptions = Omit<
  pg.PoolConfig,
  'host' | 'port' | 'database' | 'user' | 'password' | 'ssl' | 'Client' | 'connectionString'
>;

export interface ResolvedPoolOptions extends PassThroughPoolOptions {
  max: number;
  connectionTimeoutMillis: number;
  idleTimeoutMillis: number;
  maxLifetimeSeconds: number;
}

export interface ResolvedTelemetry {
  traces: boolean;
  metrics: boolean;
  /** undefined: on, unless `@opentelemetry/instrumentation-pg` records the queries itself. */
  queries: boolean | undefined;
  /** Which instrument and span names: the official kit's, the OTel semantic conventions', or both. */
  names: TelemetryNames;
}

export interface ResolvedConfig {
  /** `projects/*\/branches/*\/endpoints/*`; undefined only in native-password mode. */
  readonly endpoint: string | undefined;
  readonly host: string;
  readonly port: number;
  readonly database: string;
  /** The Postgres role; undefined → looked up with SCIM `currentUser.me()` on first use. */
  readonly user: string | undefined;
  readonly sslMode: SslMode;
  /** Path of the root certificate file (`system` = the system store), read by tls.ts. */
  readonly sslRootCert: string | undefined;
  /** An explicit pg `ssl` option, which wins over `sslMode`. */
  readonly ssl: pg.PoolConfig['ssl'] | undefined;
  readonly applicationName: string;
  /** Native Postgres password mode (no OAuth token) when set. */
  readonly password: string | (() => string | Promise<string>) | undefined;
  /** The given workspace client; undefined → one from the SDK default auth chain of `env`. */
  readonly workspaceClient: WorkspaceClient | undefined;
  /** A caller's `pg.Client` subclass to build on. */
  readonly Client: typeof pg.Client | undefined;
  readonly env: NodeJS.ProcessEnv;
  readonly claims: readonly RequestedClaims[] | undefined;
  readonly pool: Readonly<ResolvedPoolOptions>;
  readonly refreshBufferMs: number;
  readonly credentialTimeoutMs: number;
  readonly telemetry: Readonly<ResolvedTelemetry>;
  readonly logger: Logger;
}

/** Keys of `LakebasePoolConfig` that are ours (or that we map), not passed through to pg. */
const OWN_KEYS = new Set([
  'workspaceClient',
  'endpoint',
  'sslMode',
  'sslRootCert',
  'claims',
  'refreshBufferMs',
  'credentialTimeoutMs',
  'telemetry',
  'logger',
  'host',
  'port',
  'database',
  'user',
  'password',
  'ssl',
  'Client',
  'connectionString',
  'application_name',
  'max',
  'poolSize',
  'connectionTimeoutMillis',
  'idleTimeoutMillis',
  'maxLifetimeSeconds',
]);

function nonEmpty(value: string | undefined | null): string | undefined {
  if (value === undefined || value === null) return undefined;
  const trimmed = String(value).trim();
  return trimmed === '' ? undefined : trimmed;
}

function resolvePort(option: number | string | undefined, env: string | undefined): number {
  const raw = option ?? nonEmpty(env);
  if (raw === undefined || raw === '') return DEFAULTS.port;
  const port = typeof raw === 'number' ? raw : Number(raw);
  if (!Number.isInteger(port) || port < 1 || port > 65535) {
    throw new ValidationError(
      `Invalid port "${String(raw)}" (option "port" / env PGPORT): expected an integer 1-65535`,
      { option: 'port', envVar: 'PGPORT' },
    );
  }
  return port;
}

function resolveSslMode(option: string | undefined, env: string | undefined): SslMode {
  const raw = option ?? nonEmpty(env);
  if (raw === undefined) return DEFAULTS.sslMode;
  if (!SSL_MODES.includes(raw as SslMode)) {
    throw new ValidationError(
      `Invalid sslmode "${raw}" (option "sslMode" / env PGSSLMODE): expected one of ${SSL_MODES.join(', ')}`,
      { option: 'sslMode', envVar: 'PGSSLMODE' },
    );
  }
  return raw as SslMode;
}

const TELEMETRY_NAMES: readonly TelemetryNames[] = ['official', 'semconv', 'both'];

function resolveTelemetry(option: LakebasePoolConfig['telemetry']): ResolvedTelemetry {
  if (option === false) return { traces: false, metrics: false, queries: false, names: 'official' };
  if (option === true || option === undefined) {
    return { traces: true, metrics: true, queries: undefined, names: 'official' };
  }
  if (typeof option !== 'object' || option === null) {
    throw new ValidationError(
      'Invalid option "telemetry": expected true, false or { traces?, metrics?, queries?, names? }',
      { option: 'telemetry' },
    );
  }
  const names = option.names ?? 'official';
  if (!TELEMETRY_NAMES.includes(names)) {
    throw new ValidationError(
      `Invalid option "telemetry.names": expected one of ${TELEMETRY_NAMES.join(', ')}, got ${JSON.stringify(names)}`,
      { option: 'telemetry.names' },
    );
  }
  return {
    traces: option.traces ?? true,
    metrics: option.metrics ?? true,
    queries: option.queries,
    names,
  };
}

function nonNegative(name: string, value: unknown, fallback: number): number {
  if (value === undefined || value === null) return fallback;
  if (typeof value !== 'number' || !Number.isFinite(value) || value < 0) {
    throw new ValidationError(
      `Invalid option "${name}": expected a non-negative number, got ${JSON.stringify(value)}`,
      { option: name },
    );
  }
  return value;
}

function positiveInteger(name: string, value: unknown, fallback: number): number {
  if (value === undefined || value === null || value === 0) return fallback;
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 1) {
    throw new ValidationError(
      `Invalid option "${name}": expected a positive integer, got ${JSON.stringify(value)}`,
      { option: name },
    );
  }
  return value;
}

/** URL query parameters we map onto our own options (the rest pass through to pg, as pg does). */
const URL_PARAMS: Record<string, keyof LakebasePoolConfig> = {
  sslmode: 'sslMode',
  sslrootcert: 'sslRootCert',
  application_name: 'application_name',
  host: 'host',
  port: 'port',
  user: 'user',
  password: 'password',
  dbname: 'database',
};

/**
 * `connectionString` (`postgresql://user[:password]@host[:port]/database[?params]`) is spread
 * into the options; explicit options win. Like pg, every URL parameter is honoured:
 * `sslmode`/`sslrootcert`/`application_name` map onto ours, the others (`options`,
 * `client_encoding`, `statement_timeout`, ...) pass through to pg.
 */
function withConnectionString(options: Partial<LakebasePoolConfig>): Partial<LakebasePoolConfig> {
  const text = options.connectionString;
  if (text === undefined || text === '') return options;
  const invalid = (why: string) =>
    new ValidationError(`Invalid option "connectionString": ${why}`, {
      option: 'connectionString',
    });
  if (typeof text !== 'string') throw invalid('expected a string');
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    throw invalid('expected postgresql://user@host:port/database');
  }
  if (url.protocol !== 'postgres:' && url.protocol !== 'postgresql:') {
    throw invalid(`the scheme must be postgresql://, got ${url.protocol}//`);
  }
  const decode = (part: string) => {
    if (part === '') return undefined;
    try {
      return decodeURIComponent(part);
    } catch {
      throw invalid('it contains a malformed percent-encoding');
    }
  };
  const fromUrl: Record<string, unknown> = {
    host: decode(url.hostname.replace(/^\[(.+)\]$/, '$1')),
    port: url.port === '' ? undefined : Number(url.port),
    database: decode(url.pathname.replace(/^\//, '')),
    user: decode(url.username),
    password: decode(url.password),
  };
  for (const [key, value] of url.searchParams) {
    if (key === 'ssl') {
      if (value === 'true' || value === '1') fromUrl.ssl = true;
      else if (value === '0' || value === 'false') fromUrl.ssl = false;
      continue;
    }
    const own = URL_PARAMS[key];
    if (own === 'port') fromUrl.port = value;
    else fromUrl[own ?? key] = value;
  }
  const { connectionString: _ignored, ...rest } = options;
  const explicit = Object.fromEntries(Object.entries(rest).filter(([, v]) => v !== undefined));
  const spread = Object.fromEntries(Object.entries(fromUrl).filter(([, v]) => v !== undefined));
  return { ...spread, ...explicit } as Partial<LakebasePoolConfig>;
}

/**
 * Resolve options (first) and environment (second) into a frozen config. Synchronous, no I/O;
 * `user` may stay undefined (looked up with SCIM on first use).
 */
export function resolveConfig(
  given: Partial<LakebasePoolConfig> = {},
  env: NodeJS.ProcessEnv = process.env,
): ResolvedConfig {
  if (typeof given !== 'object' || given === null) {
    throw new ValidationError('Lakebase options must be an object', { option: 'options' });
  }
  const options = withConnectionString(given);
  const password = options.password ?? undefined;
  if (password !== undefined && typeof password !== 'string' && typeof password !== 'function') {
    throw new ValidationError('Invalid option "password": expected a string or a function', {
      option: 'password',
    });
  }
  const endpointRaw = nonEmpty(options.endpoint) ?? nonEmpty(env.LAKEBASE_ENDPOINT);
  if (endpointRaw === undefined && password === undefined) {
    throw new ConfigurationError(
      'Lakebase endpoint is missing: set option "endpoint" or env LAKEBASE_ENDPOINT ' +
        '(projects/<project>/branches/<branch>/endpoints/<endpoint>), or give option "password" ' +
        'for native Postgres authentication',
      { option: 'endpoint', envVar: 'LAKEBASE_ENDPOINT' },
    );
  }
  const endpoint = endpointRaw === undefined ? undefined : validateEndpoint(endpointRaw);

  const host = nonEmpty(options.host) ?? nonEmpty(env.PGHOST);
  if (host === undefined) {
    throw new ConfigurationError(
      'Postgres host is missing: set option "host" or env PGHOST (the Lakebase endpoint host)',
      { option: 'host', envVar: 'PGHOST' },
    );
  }
  const database = nonEmpty(options.database) ?? nonEmpty(env.PGDATABASE);
  if (database === undefined) {
    throw new ConfigurationError(
      'Postgres database is missing: set option "database" or env PGDATABASE (e.g. databricks_postgres)',
      { option: 'database', envVar: 'PGDATABASE' },
    );
  }
  const port = resolvePort(options.port as number | string | undefined, env.PGPORT);
  const user = nonEmpty(options.user) ?? nonEmpty(env.PGUSER) ?? nonEmpty(env.DATABRICKS_CLIENT_ID);
  const sslMode = resolveSslMode(options.sslMode, env.PGSSLMODE);
  const sslRootCert = nonEmpty(options.sslRootCert) ?? nonEmpty(env.PGSSLROOTCERT);
  const applicationName =
    nonEmpty(options.application_name) ?? nonEmpty(env.PGAPPNAME) ?? DEFAULTS.applicationName;
  if (options.Client !== undefined && typeof options.Client !== 'function') {
    throw new ValidationError('Invalid option "Client": expected a pg.Client subclass', {
      option: 'Client',
    });
  }

  const passThrough: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(options)) {
    if (!OWN_KEYS.has(key) && value !== undefined) passThrough[key] = value;
  }
  const connectionTimeoutMillis = nonNegative(
    'connectionTimeoutMillis',
    options.connectionTimeoutMillis,
    DEFAULTS.connectionTimeoutMillis,
  );
  const pool: ResolvedPoolOptions = Object.freeze({
    ...(passThrough as PassThroughPoolOptions),
    // pg's alias: `poolSize` is honoured when `max` is not given
    max: positiveInteger(
      options.max !== undefined ? 'max' : 'poolSize',
      options.max ?? (options as { poolSize?: number }).poolSize,
      DEFAULTS.max,
    ),
    connectionTimeoutMillis,
    idleTimeoutMillis: nonNegative(
      'idleTimeoutMillis',
      options.idleTimeoutMillis,
      DEFAULTS.idleTimeoutMillis,
    ),
    maxLifetimeSeconds: nonNegative(
      'maxLifetimeSeconds',
      options.maxLifetimeSeconds,
      DEFAULTS.maxLifetimeSeconds,
    ),
  });

  // One credential call must end before the connect that waits on it gives up, so that the
  // caller gets the credential error instead of pg's bare connection timeout.
  const credentialDefault =
    connectionTimeoutMillis > 0
      ? Math.max(1000, Math.min(DEFAULTS.credentialTimeoutMs, connectionTimeoutMillis / 2))
      : DEFAULTS.credentialTimeoutMs;

  const config: ResolvedConfig = {
    endpoint,
    host,
    port,
    database,
    user,
    sslMode,
    sslRootCert,
    ssl: options.ssl,
    applicationName,
    password: password as ResolvedConfig['password'],
    workspaceClient: options.workspaceClient,
    Client: options.Client as typeof pg.Client | undefined,
    env,
    claims: options.claims ? Object.freeze([...options.claims]) : undefined,
    pool,
    refreshBufferMs: nonNegative(
      'refreshBufferMs',
      options.refreshBufferMs,
      DEFAULTS.refreshBufferMs,
    ),
    credentialTimeoutMs:
      nonNegative('credentialTimeoutMs', options.credentialTimeoutMs, credentialDefault) ||
      credentialDefault,
    telemetry: Object.freeze(resolveTelemetry(options.telemetry)),
    logger: resolveLogger(options.logger),
  };
  return Object.freeze(config);
}
