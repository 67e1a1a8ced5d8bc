/**
 * The pool: a real `pg.Pool` whose password is the token cache, built on a `pg.Client`
 * subclass (`LakebaseClient`) that owns every per-connection concern, so it applies to every
 * path (`pool.query`, `pool.connect()`, a `pg.Pool` built from `getLakebasePgConfig()`):
 * lazy user resolution, one retry with a fresh token after 28P01/28000, backoff retries while
 * the compute wakes, query spans, and an `error` listener so a dying connection never crashes
 * the process.
 */
import pg from 'pg';
import { type ResolvedConfig, resolveConfig, resolveUser } from './config.js';
import { workspaceCredentialSource } from './credentials.js';
import { redactSecrets } from './errors.js';
import type { Logger } from './logger.js';
import { createTelemetry, errorType, type Telemetry } from './telemetry.js';
import { TokenCache } from './token-cache.js';
import type { LakebasePoolConfig, TokenCacheStats, TokenProvider } from './types.js';

export interface BuildPoolOptions {
  config: ResolvedConfig;
  /** The Postgres role to log in as, or an async resolver (called once, on the first connect). */
  user: string | (() => Promise<string>);
  /** Password source (ignored in native-password mode). */
  tokens: TokenProvider;
  /** Low-cardinality: 'lakebase:sp' | 'lakebase:user'. */
  poolName: string;
  /** Overrides of the config's pool options. */
  max?: number;
  idleTimeoutMillis?: number;
  /** A custom Client class to extend (the OBO side uses it for its connection budget). */
  Client?: typeof pg.Client;
  logger: Logger;
  telemetry: Telemetry;
  /** Called once when `pool.end()` is called (after metrics are unregistered). */
  onEnd?: () => void;
}

const AUTH_CODES = new Set(['28P01', '28000']);
const WAKE_CODES = new Set([
  '57P01', // admin shutdown (scale-to-zero terminated the backend)
  '57P02', // crash shutdown
  '57P03', // cannot connect now (starting up)
  '08000',
  '08001',
  '08003',
  '08006',
  'ECONNREFUSED',
  'ECONNRESET',
  'EPIPE',
  'ETIMEDOUT',
  'EHOSTUNREACH',
  'ENETUNREACH',
]);

function codeOf(error: unknown): string | undefined {
  const code = (error as { code?: unknown } | undefined)?.code;
  return typeof code === 'string' ? code : undefined;
}

export function isAuthError(error: unknown): boolean {
  const code = codeOf(error);
  return code !== undefined && AUTH_CODES.has(code);
}

export function isWakeError(error: unknown): boolean {
  const code = codeOf(error);
  if (code !== undefined && WAKE_CODES.has(code)) return true;
  return error instanceof Error && error.message === 'Connection terminated unexpectedly';
}

function isAcquireTimeout(error: unknown): boolean {
  return (
    error instanceof Error &&
    (error.message === 'timeout exceeded when trying to connect' ||
      error.message === 'Connection terminated due to connection timeout')
  );
}

const sleep = (ms: number) =>
  new Promise<void>((resolve) => {
    setTimeout(resolve, ms).unref?.();
  });

/** pg.Client internals the retry resets (stable across pg 8.x). */
interface ClientInternals {
  connection: pg.Connection & { stream: { destroy(): void }; _ending?: boolean };
  connectionParameters: {
    user?: string;
    password?: unknown;
    ssl?: unknown;
    sslnegotiation?: string;
    client_encoding?: string;
  };
  user?: string;
  password?: unknown;
  connectionTimeoutHandle?: NodeJS.Timeout;
}

interface ClientRuntime {
  config: ResolvedConfig;
  resolveUser: () => Promise<string>;
  password: () => Promise<string>;
  /** Only OAuth tokens are invalidated and retried after an auth failure. */
  tokens: TokenProvider | undefined;
  poolName: string;
  logger: Logger;
  telemetry: Telemetry;
}

type AnyFn = (...args: unknown[]) => unknown;

/** `class extends Base` with the Lakebase per-connection behaviour (see the file header). */
export function lakebaseClientClass(Base: typeof pg.Client, rt: ClientRuntime): typeof pg.Client {
  const tracer = rt.telemetry.queries
    ? rt.telemetry.queryTracer({
        database: rt.config.database,
        host: rt.config.host,
        port: rt.config.port,
        poolName: rt.poolName,
      })
    : undefined;
  class LakebaseClient extends Base {
    private readonly lbClientConfig: pg.ClientConfig;
    private lbToken: string | undefined;

    constructor(config?: string | pg.ClientConfig) {
      super(config);
      this.lbClientConfig = typeof config === 'object' && config !== null ? config : {};
      this.lbInstallPassword();
      // A checked-out client has no pool listener: without this, a lost connection would be
      // an unhandled 'error' event and crash the process.
      this.on('error', (error: Error) => {
        rt.logger.warn(
          `${rt.poolName} connection lost (${errorType(error)}): ${redactSecrets(error.message)}`,
        );
      });
    }

    // biome-ignore lint/suspicious/noExplicitAny: pg's overloaded connect(callback?)
    override connect(callback?: any): any {
      const result = this.lbConnect();
      if (typeof callback === 'function') {
        result.then(
          () => callback(null, this),
          (error) => callback(error),
        );
        return undefined;
      }
      return result;
    }

    // biome-ignore lint/suspicious/noExplicitAny: pg's overloaded query(...)
    override query(...args: any[]): any {
      const superQuery = (...a: unknown[]) => (super.query as unknown as AnyFn).apply(this, a);
      const first = args[0] as Submittable | string;
      if (!tracer) return superQuery(...args);
      const text = typeof first === 'string' ? first : first?.text;
      const values = Array.isArray(args[1])
        ? args[1]
        : typeof first === 'object'
          ? first?.values
          : undefined;
      const recorder = tracer.start(text, Array.isArray(values) && values.length > 0);
      if (typeof first === 'object' && typeof first?.submit === 'function') {
        // A submittable (pg-cursor, pg-query-stream, a pg.Query): one span for its whole life,
        // ended when the server is ready again or on its error (both end it once).
        endOnCompletion(first, recorder);
        return superQuery(...args);
      }
      try {
        const last = args[args.length - 1];
        if (typeof last === 'function') {
          args[args.length - 1] = (error: unknown, result: unknown) => {
            recorder.end(error ? error : undefined);
            (last as AnyFn)(error, result);
          };
          return superQuery(...args);
        }
        const result = superQuery(...args) as Promise<unknown> | undefined;
        if (result && typeof result.then === 'function') {
          return result.then(
            (value) => {
              recorder.end();
              return value;
            },
            (error) => {
              recorder.end(error);
              throw error;
            },
          );
        }
        recorder.end();
        return result;
      } catch (error) {
        recorder.end(error);
        throw error;
      }
    }

    private lbInstallPassword(): void {
      const self = this as unknown as ClientInternals;
      const password = async () => {
        const token = await rt.password();
        this.lbToken = token;
        return token;
      };
      self.password = password;
      self.connectionParameters.password = password;
    }

    private async lbConnect(): Promise<this> {
      const self = this as unknown as ClientInternals;
      const started = performance.now();
      const timeout =
        this.lbClientConfig.connectionTimeoutMillis ||
        rt.config.pool.connectionTimeoutMillis ||
        10_000;
      const deadline = Date.now() + timeout;
      const user = await rt.resolveUser();
      self.user = user;
      self.connectionParameters.user = user;

      let authRetried = false;
      let wakeAttempts = 0;
      for (;;) {
        try {
          await (super.connect as unknown as () => Promise<unknown>).call(this);
          rt.telemetry.connectionCreated(rt.poolName, (performance.now() - started) / 1000);
          return this;
        } catch (error) {
          const type = errorType(error);
          if (isAuthError(error)) {
            rt.telemetry.authFailure(rt.poolName);
            if (!authRetried && rt.tokens) {
              authRetried = true;
              rt.tokens.invalidate(this.lbToken);
              rt.telemetry.connectRetry(rt.poolName, 'auth', type);
              rt.logger.info(
                `${rt.poolName} login rejected (${type}); retrying once with a fresh token`,
              );
              this.lbReset();
              continue;
            }
          } else if (isWakeError(error)) {
            wakeAttempts++;
            const delay =
              Math.min(2000, 100 * 2 ** (wakeAttempts - 1)) * (0.5 + Math.random() * 0.5);
            if (Date.now() + delay < deadline) {
              rt.telemetry.connectRetry(rt.poolName, 'wake', type);
              rt.logger.info(
                `${rt.poolName} connect failed (${type}); the compute may be waking up, ` +
                  `retry ${wakeAttempts} in ${Math.round(delay)} ms`,
              );
              this.lbReset();
              await sleep(delay);
              continue;
            }
          }
          // Giving up: pg leaves the socket open after a password-callback failure; close it.
          self.connection.stream.destroy();
          throw error;
        }
      }
    }

    /** Drop the failed connection and give this client a fresh, unconnected one. */
    private lbReset(): void {
      const self = this as unknown as ClientInternals & Record<string, unknown>;
      const old = self.connection;
      old.removeAllListeners();
      old.on('error', () => {});
      old._ending = true;
      old.stream.destroy();
      clearTimeout(self.connectionTimeoutHandle);
      const c = this.lbClientConfig;
      const params = self.connectionParameters;
      self.connection = new pg.Connection({
        stream: c.stream,
        ssl: params.ssl,
        sslNegotiation: params.sslnegotiation,
        keepAlive: c.keepAlive || false,
        keepAliveInitialDelayMillis: c.keepAliveInitialDelayMillis || 0,
        encoding: params.client_encoding || 'utf8',
      } as pg.ConnectionConfig) as ClientInternals['connection'];
      Object.assign(self, {
        _connecting: false,
        _connected: false,
        _connectionError: false,
        _ending: false,
        _ended: false,
        _queryable: true,
        _activeQuery: null,
        _txStatus: null,
        _queryQueue: [],
        _sentQueryQueue: [],
        _connectionCallback: null,
        processID: null,
        secretKey: null,
        readyForQuery: false,
        saslSession: null,
      });
      this.lbInstallPassword();
    }
  }
  return LakebaseClient as unknown as typeof pg.Client;
}

function passwordSource(config: ResolvedConfig, tokens: TokenProvider): () => Promise<string> {
  const native = config.password;
  if (native === undefined) return () => tokens.getToken();
  return async () => (typeof native === 'function' ? await native() : native);
}

function userResolver(user: BuildPoolOptions['user']): () => Promise<string> {
  if (typeof user === 'string') return () => Promise.resolve(user);
  let pending: Promise<string> | undefined;
  return () => {
    if (!pending) {
      pending = user();
      pending.catch(() => {
        pending = undefined;
      });
    }
    return pending;
  };
}

/** The `pg.PoolConfig` of a Lakebase pool (password function, ssl, `Client` subclass). */
export function lakebasePoolConfig(options: Omit<BuildPoolOptions, 'onEnd'>): pg.PoolConfig {
  const { config, tokens, poolName, logger, telemetry } = options;
  const password = passwordSource(config, tokens);
  const Client = lakebaseClientClass(options.Client ?? pg.Client, {
    config,
    resolveUser: userResolver(options.user),
    password,
    tokens: config.password === undefined ? tokens : undefined,
    poolName,
    logger,
    telemetry,
  });
  return {
    ...config.pool,
    max: options.max ?? config.pool.max,
    idleTimeoutMillis: options.idleTimeoutMillis ?? config.pool.idleTimeoutMillis,
    host: config.host,
    port: config.port,
    database: config.database,
    user: typeof options.user === 'string' ? options.user : undefined,
    password,
    ssl: config.ssl,
    application_name: config.applicationName,
    Client,
  };
}

/**
 * A real `pg.Pool` for one identity. Sync. Adds: the `LakebaseClient` behaviour, pool metrics
 * (removed on `end`), acquisition wait/timeout metrics, and a pool `error` listener.
 */
export function buildLakebasePool(options: BuildPoolOptions): pg.Pool {
  const { poolName, logger, telemetry } = options;
  const pool = new pg.Pool(lakebasePoolConfig(options));

  // The client listener logs; this one only keeps an idle client's error from crashing us.
  pool.on('error', (error: Error) => {
    logger.debug(`${poolName} removed an idle connection (${errorType(error)})`);
  });

  pool.on('connect', () => {
    logger.debug(`${poolName} opened a connection (${pool.totalCount} open)`);
  });
  pool.on('remove', () => {
    logger.debug(`${poolName} closed a connection (${pool.totalCount} open)`);
  });

  const unregister = telemetry.registerPool(pool, poolName);
  const originalConnect = pool.connect.bind(pool) as AnyFn;
  const record = (started: number, error?: unknown) => {
    if (error === undefined)
      telemetry.connectionWait(poolName, (performance.now() - started) / 1000);
    else if (isAcquireTimeout(error)) telemetry.connectionTimeout(poolName);
  };
  pool.connect = function connect(callback?: AnyFn) {
    const started = performance.now();
    if (typeof callback === 'function') {
      return originalConnect((error: unknown, client: unknown, done: unknown) => {
        record(started, error ?? undefined);
        callback(error, client, done);
      });
    }
    return (originalConnect() as Promise<pg.PoolClient>).then(
      (client) => {
        record(started);
        return client;
      },
      (error) => {
        record(started, error);
        throw error;
      },
    );
  } as typeof pool.connect;

  const originalEnd = pool.end.bind(pool) as AnyFn;
  let ended = false;
  pool.end = function end(callback?: AnyFn) {
    if (!ended) {
      ended = true;
      unregister();
      try {
        options.onEnd?.();
      } catch (error) {
        logger.error(`${poolName} cleanup failed: ${redactSecrets(String(error))}`);
      }
      logger.debug(`${poolName} pool ending`);
    }
    return originalEnd(callback);
  } as typeof pool.end;

  logger.debug(
    `${poolName} pool created for ${options.config.host}:${options.config.port}/${options.config.database}`,
  );
  return pool;
}

/** A token provider for native-password mode (never asked: the password is used directly). */
const nativePasswordTokens: TokenProvider = {
  getToken: () => Promise.reject(new Error('native password mode has no token')),
  invalidate: () => {},
  setRefreshAhead: () => {},
  stats: (): TokenCacheStats => ({
    hits: 0,
    misses: 0,
    refreshes: 0,
    failures: 0,
    invalidations: 0,
  }),
  close: () => {},
};

/** The service principal's token cache for a resolved config (or a no-op in native mode). */
export function servicePrincipalTokens(
  config: ResolvedConfig,
  telemetry: Telemetry,
  overrides: { refreshAhead?: boolean } = {},
): TokenProvider {
  if (config.password !== undefined || config.endpoint === undefined) return nativePasswordTokens;
  return new TokenCache({
    source: workspaceCredentialSource(
      () => config.workspaceClient,
      { endpoint: config.endpoint, claims: config.claims ? [...config.claims] : undefined },
      { timeoutMs: config.credentialTimeoutMs },
    ),
    name: 'service principal',
    refreshBufferMs: config.refreshBufferMs,
    refreshAhead: overrides.refreshAhead ?? true,
    logger: config.logger,
    telemetry,
    poolName: 'lakebase:sp',
  });
}

/**
 * A standard `pg.Pool` (Drizzle, Prisma, Kysely, TypeORM... accept it) whose password is a
 * refreshed Lakebase OAuth token. Options first, then env (see README). Same name as the
 * official `@databricks/lakebase`.
 */
export function createLakebasePool(config: Partial<LakebasePoolConfig> = {}): pg.Pool {
  const resolved = resolveConfig(config);
  const telemetry = createTelemetry(resolved.telemetry);
  const tokens = servicePrincipalTokens(resolved, telemetry);
  return buildLakebasePool({
    config: resolved,
    user: resolved.user ?? (() => resolveUser(resolved)),
    tokens,
    poolName: 'lakebase:sp',
    Client: config.Client as typeof pg.Client | undefined,
    logger: resolved.logger,
    telemetry,
    onEnd: () => tokens.close(),
  });
}

interface Submittable {
  text?: string;
  values?: unknown[];
  submit?: unknown;
  handleReadyForQuery?: AnyFn;
  handleError?: AnyFn;
}

/** Ends `recorder` when the submittable completes (ReadyForQuery) or fails. */
function endOnCompletion(submittable: Submittable, recorder: { end(error?: unknown): void }) {
  const ready = submittable.handleReadyForQuery;
  const failed = submittable.handleError;
  if (typeof ready !== 'function' || typeof failed !== 'function') {
    recorder.end();
    return;
  }
  submittable.handleReadyForQuery = function (this: unknown, ...a: unknown[]) {
    recorder.end();
    return ready.apply(this, a);
  };
  submittable.handleError = function (this: unknown, error: unknown, ...a: unknown[]) {
    recorder.end(error);
    return failed.apply(this, [error, ...a]);
  };
}
