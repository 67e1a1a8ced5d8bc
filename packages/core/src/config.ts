/**
 * Options + environment → one frozen, validated configuration. Every error names both the
 * option and the environment variable it could come from.
 */
import { readFileSync } from 'node:fs';
import { isIP } from 'node:net';
import type { ConnectionOptions } from 'node:tls';
import { WorkspaceClient } from '@databricks/sdk-experimental';
import pg from 'pg';
import { ConfigurationError, ValidationError } from './errors.js';
import { type Logger, resolveLogger } from './logger.js';
import type { LakebasePoolConfig, RequestedClaims, SslMode } from './types.js';

export const DEFAULTS = Object.freeze({
  port: 5432,
  sslMode: 'require' as SslMode,
  max: 10,
  connectionTimeoutMillis: 10_000,
  idleTimeoutMillis: 30_000,
  /** Lakebase closes connections after 3 days; recycle long before that. */
  maxLifetimeSeconds: 3600,
  refreshBufferMs: 120_000,
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

const ENDPOINT_PATTERN = /^projects\/[^/\s]+\/branches\/[^/\s]+\/endpoints\/[^/\s]+$/;

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

export interface ResolvedConfig {
  /** `projects/*\/branches/*\/endpoints/*`; undefined only in native-password mode. */
  readonly endpoint: string | undefined;
  readonly host: string;
  readonly port: number;
  readonly database: string;
  /** The Postgres role; undefined → resolved lazily with SCIM `currentUser.me()`. */
  readonly user: string | undefined;
  readonly sslMode: SslMode;
  readonly ssl: false | ConnectionOptions;
  readonly applicationName: string;
  /** Native Postgres password mode (no OAuth token) when set. */
  readonly password: string | (() => string | Promise<string>) | undefined;
  /** The given client, or one created on first access from the SDK default auth chain. */
  readonly workspaceClient: WorkspaceClient;
  readonly claims: readonly RequestedClaims[] | undefined;
  readonly pool: Readonly<ResolvedPoolOptions>;
  readonly refreshBufferMs: number;
  readonly credentialTimeoutMs: number;
  /** `queries` (query spans + operation duration) is off by default under instrumentation-pg. */
  readonly telemetry: Readonly<{ traces: boolean; metrics: boolean; queries: boolean }>;
  readonly logger: Logger;
}

/** Keys of `LakebasePoolConfig` that are ours, not pg's. */
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
  'connectionTimeoutMillis',
  'idleTimeoutMillis',
  'maxLifetimeSeconds',
]);

function nonEmpty(value: string | undefined | null): string | undefined {
  if (value === undefined || value === null) return undefined;
  const trimmed = value.trim();
  return trimmed === '' ? undefined : trimmed;
}

export function validateEndpoint(endpoint: string): string {
  if (!ENDPOINT_PATTERN.test(endpoint)) {
    throw new ValidationError(
      `Invalid Lakebase endpoint "${endpoint}" (option "endpoint" / env LAKEBASE_ENDPOINT): ` +
        'expected projects/<project>/branches/<branch>/endpoints/<endpoint>',
      { option: 'endpoint', envVar: 'LAKEBASE_ENDPOINT' },
    );
  }
  return endpoint;
}

function resolvePort(option: number | undefined, env: string | undefined): number {
  const raw = option ?? nonEmpty(env);
  if (raw === undefined) return DEFAULTS.port;
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

function readRootCert(path: string | undefined): string | undefined {
  if (path === undefined || path === 'system') return undefined;
  try {
    return readFileSync(path, 'utf8');
  } catch (cause) {
    throw new ConfigurationError(
      `Cannot read the root certificate file "${path}" (option "sslRootCert" / env PGSSLROOTCERT)`,
      { option: 'sslRootCert', envVar: 'PGSSLROOTCERT', cause },
    );
  }
}

/**
 * libpq sslmode → node-postgres `ssl`. node-postgres cannot fall back between plain and TLS,
 * so `allow` and `prefer` encrypt without verifying (Lakebase always offers TLS). `require`
 * with a root certificate behaves like `verify-ca`, as in libpq.
 */
export function sslFromMode(
  mode: SslMode,
  host: string,
  rootCertPath?: string,
): false | ConnectionOptions {
  if (mode === 'disable') return false;
  const ca = readRootCert(rootCertPath);
  const verifyCa = mode === 'verify-ca' || (mode === 'require' && ca !== undefined);
  // SNI must not carry an IP (RFC 6066; Node warns, DEP0123). tls.connect checks the
  // certificate against `servername`, else `host`, else 'localhost', so an IP goes in `host`.
  if (mode === 'verify-full')
    return {
      rejectUnauthorized: true,
      ...(isIP(host) ? { host } : { servername: host }),
      ...(ca ? { ca } : {}),
    };
  if (verifyCa) return { rejectUnauthorized: true, ca, checkServerIdentity: () => undefined };
  return { rejectUnauthorized: false };
}

function resolveTelemetry(option: LakebasePoolConfig['telemetry']): {
  traces: boolean;
  metrics: boolean;
  queries?: boolean;
} {
  if (option === false) return { traces: false, metrics: false, queries: false };
  if (option === true || option === undefined) return { traces: true, metrics: true };
  return {
    traces: option.traces ?? true,
    metrics: option.metrics ?? true,
    queries: option.queries,
  };
}

function nonNegative(name: string, value: number | undefined, fallback: number): number {
  if (value === undefined) return fallback;
  if (typeof value !== 'number' || !Number.isFinite(value) || value < 0) {
    throw new ValidationError(`Invalid option "${name}": expected a non-negative number`, {
      option: name,
    });
  }
  return value;
}

/** True when `@opentelemetry/instrumentation-pg` (or any shimmer wrapper) patched pg's query. */
export function isPgInstrumented(Client: { prototype: { query: unknown } }): boolean {
  const query = Client.prototype.query as { __wrapped?: boolean; __original?: unknown } | undefined;
  return Boolean(query && (query.__wrapped === true || query.__original !== undefined));
}

/**
 * Resolve options (first) and environment (second) into a frozen config. Synchronous; the
 * workspace client is created on first access and `user` may stay undefined (SCIM lookup later).
 */
/**
 * `connectionString` (`postgresql://user[:password]@host[:port]/database[?sslmode=...]`) is
 * spread into `host`, `port`, `database`, `user`, `password` and `sslMode`; explicit options win.
 */
function withConnectionString(options: Partial<LakebasePoolConfig>): Partial<LakebasePoolConfig> {
  const text = options.connectionString;
  if (text === undefined || text === '') return options;
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    throw new ValidationError(
      'Invalid option "connectionString": expected postgresql://user@host:port/database',
      { option: 'connectionString' },
    );
  }
  if (url.protocol !== 'postgres:' && url.protocol !== 'postgresql:') {
    throw new ValidationError(
      `Invalid option "connectionString": the scheme must be postgresql://, got ${url.protocol}//`,
      { option: 'connectionString' },
    );
  }
  const decode = (part: string) => (part === '' ? undefined : decodeURIComponent(part));
  const fromUrl: Partial<LakebasePoolConfig> = {
    host: decode(url.hostname),
    port: url.port === '' ? undefined : Number(url.port),
    database: decode(url.pathname.replace(/^\//, '')),
    user: decode(url.username),
    password: decode(url.password),
    sslMode: (url.searchParams.get('sslmode') ?? undefined) as LakebasePoolConfig['sslMode'],
  };
  const { connectionString: _ignored, ...rest } = options;
  const explicit = Object.fromEntries(Object.entries(rest).filter(([, v]) => v !== undefined));
  return { ...fromUrl, ...explicit };
}

export function resolveConfig(
  given: Partial<LakebasePoolConfig> = {},
  env: NodeJS.ProcessEnv = process.env,
): ResolvedConfig {
  const options = withConnectionString(given);
  const password = options.password ?? undefined;
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
  const port = resolvePort(options.port, env.PGPORT);
  const user = nonEmpty(options.user) ?? nonEmpty(env.PGUSER) ?? nonEmpty(env.DATABRICKS_CLIENT_ID);
  const sslMode = resolveSslMode(options.sslMode, env.PGSSLMODE);
  const rootCert = nonEmpty(options.sslRootCert) ?? nonEmpty(env.PGSSLROOTCERT);
  const ssl =
    options.ssl !== undefined
      ? options.ssl === true
        ? { rejectUnauthorized: true }
        : (options.ssl as false | ConnectionOptions)
      : sslFromMode(sslMode, host, rootCert);
  const applicationName =
    nonEmpty(options.application_name) ?? nonEmpty(env.PGAPPNAME) ?? DEFAULTS.applicationName;

  const passThrough: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(options)) {
    if (!OWN_KEYS.has(key) && value !== undefined) passThrough[key] = value;
  }
  const pool: ResolvedPoolOptions = Object.freeze({
    ...(passThrough as PassThroughPoolOptions),
    max: nonNegative('max', options.max, DEFAULTS.max) || DEFAULTS.max,
    connectionTimeoutMillis: nonNegative(
      'connectionTimeoutMillis',
      options.connectionTimeoutMillis,
      DEFAULTS.connectionTimeoutMillis,
    ),
    idleTimeoutMillis: nonNegative(
      'idleTimeoutMillis',
      options.idleTimeoutMillis ?? undefined,
      DEFAULTS.idleTimeoutMillis,
    ),
    maxLifetimeSeconds: nonNegative(
      'maxLifetimeSeconds',
      options.maxLifetimeSeconds,
      DEFAULTS.maxLifetimeSeconds,
    ),
  });

  const telemetryOption = resolveTelemetry(options.telemetry);
  let workspaceClient = options.workspaceClient;
  const config: ResolvedConfig = {
    endpoint,
    host,
    port,
    database,
    user,
    sslMode,
    ssl,
    applicationName,
    password: password as ResolvedConfig['password'],
    get workspaceClient(): WorkspaceClient {
      if (!workspaceClient) workspaceClient = createWorkspaceClient(env);
      return workspaceClient;
    },
    claims: options.claims ? Object.freeze([...options.claims]) : undefined,
    pool,
    refreshBufferMs: nonNegative(
      'refreshBufferMs',
      options.refreshBufferMs,
      DEFAULTS.refreshBufferMs,
    ),
    credentialTimeoutMs:
      nonNegative(
        'credentialTimeoutMs',
        options.credentialTimeoutMs,
        DEFAULTS.credentialTimeoutMs,
      ) || DEFAULTS.credentialTimeoutMs,
    telemetry: Object.freeze({
      traces: telemetryOption.traces,
      metrics: telemetryOption.metrics,
      queries: telemetryOption.queries ?? !isPgInstrumented(options.Client ?? pg.Client),
    }),
    logger: resolveLogger(options.logger),
  };
  return Object.freeze(config);
}

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

const userLookups = new WeakMap<ResolvedConfig, Promise<string>>();

/**
 * The configured Postgres role, or (once per config, memoized) the SCIM `currentUser.me()`
 * userName of the workspace identity. Rejects with a `ConfigurationError` naming the options.
 */
export function resolveUser(config: ResolvedConfig): Promise<string> {
  if (config.user !== undefined) return Promise.resolve(config.user);
  let lookup = userLookups.get(config);
  if (!lookup) {
    lookup = (async () => {
      let userName: string | undefined;
      let cause: unknown;
      try {
        userName = nonEmpty((await config.workspaceClient.currentUser.me()).userName);
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
    })();
    lookup.catch(() => userLookups.delete(config));
    userLookups.set(config, lookup);
  }
  return lookup;
}

/** A cause without response bodies or headers: name, message (truncated), status, code. */
function safeCause(error: unknown): Error | undefined {
  if (!(error instanceof Error)) return undefined;
  const e = error as Error & { statusCode?: number; errorCode?: string };
  const detail = [e.statusCode, e.errorCode].filter((v) => v !== undefined).join(' ');
  return new Error(`${e.name}${detail ? ` (${detail})` : ''}: ${e.message.slice(0, 200)}`);
}
