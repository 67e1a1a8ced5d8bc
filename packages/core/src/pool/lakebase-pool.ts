/**
 * `LakebasePool`: a real `pg.Pool` (a subclass) whose `connect()` — and so `query()`, which
 * pg-pool routes through it — retries at the pool boundary: once with a fresh token after a
 * rejected login (28P01/28000), and with backoff while a scaled-to-zero compute wakes, within
 * `connectionTimeoutMillis`. pg-pool discards each failed client itself. `end()` lets every
 * accepted request finish: connects already asked for are served before pg-pool stops taking
 * them, the token cache stays open until the last connection is gone, and only then is the
 * credential call in flight aborted. Work that arrives after `end()` gets a `ClosedError`.
 */
import pg from 'pg';
import type { Clock } from '../base/clock.js';
import {
  ClosedError,
  DatabaseUnavailableError,
  ReplicaBehindError,
  redactSecrets,
} from '../base/errors.js';
import type { Logger } from '../base/logger.js';
import { errorType } from '../telemetry/attributes.js';
import type { Telemetry } from '../telemetry/telemetry.js';
import type { ClientRuntime } from './client.js';
import type { HostRoute } from './host-route.js';
import type { ReplicaGate } from './replica-gate.js';
import { backoffDelay, fitsBefore, WAKE_BACKOFF } from './schedule.js';
import type { TokenCache } from './token-cache.js';

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

/** A login the server rejected (bad or expired token, or no such role). */
export function isAuthError(error: unknown): boolean {
  const code = codeOf(error);
  return code !== undefined && AUTH_CODES.has(code);
}

/** A connect failure that a waking compute (or a restart) explains: worth a retry. */
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

/** What to do when a login is rejected (the user side explains missing roles). */
export interface LoginPolicy {
  /** Before the one retry: an error to fail with at once instead (e.g. the role is missing). */
  beforeRetry?(error: Error): Promise<Error | undefined>;
  /** The error to surface when a login is rejected for good (default: pg's own). */
  rejected?(error: Error): Error;
}

export interface LakebasePoolRuntime {
  poolName: string;
  /** The OAuth token cache (undefined in native-password mode): invalidated on a rejected login. */
  tokens: TokenCache | undefined;
  /** Shared with the pool's `LakebaseClient` class (see client.ts). */
  rejectedTokens: ClientRuntime['rejectedTokens'];
  telemetry: Telemetry;
  /** True when the pool owns `telemetry` (closed with the pool). */
  ownsTelemetry: boolean;
  logger: Logger;
  clock: Clock;
  random: () => number;
  login?: LoginPolicy;
  /** Whose pool it is: its `ready()` is the work before a connect may start (the SCIM lookup of the role), undefined once done. */
  identity?: { ready(): Promise<void> | undefined };
  /**
   * Sets up each client's session for whom it is handed to (set-role mode): undefined when
   * nothing is to be done; a rejection destroys the client.
   */
  sessions?: {
    prepare(client: pg.PoolClient, target: SessionTarget | undefined): Promise<void> | undefined;
  };
  /**
   * The check of the configured hosts against the endpoint (endpoint-hosts.ts): undefined once
   * passed; a rejection fails the connect.
   */
  hostCheck?: { ready(): Promise<void> | undefined };
  /**
   * A read pool's read-your-writes wait (replica-gate.ts), after `sessions`: undefined when the
   * connection is known to be caught up; a rejection (the replica stayed behind) gives the
   * client back to the pool and fails the checkout.
   */
  replica?: ReplicaGate;
  /** Pooled mode: where connections go, and the fallback to the direct host (host-route.ts). */
  route?: HostRoute;
}

/**
 * Whom a checkout is for (set-role mode): `role`, set up before the client is handed out, or
 * (`inline`) by the caller's own first query (a `RoleQuery`), so no round trip here.
 */
export interface SessionTarget {
  role: string;
  inline: boolean;
}

type ConnectCallback = (
  err: Error | undefined,
  client: pg.PoolClient | undefined,
  done: (release?: Error | boolean) => void,
) => void;

const noop = () => {};

/** The retry state of one accepted connect. */
interface Attempt {
  deadline: number;
  authRetried: boolean;
  wakeAttempts: number;
}

export class LakebasePool extends pg.Pool {
  readonly #rt: LakebasePoolRuntime;
  readonly #unregister: () => void;
  /** connect() calls accepted and not yet answered (a client or an error). */
  #outstanding = 0;
  #drained: (() => void) | undefined;
  #closing = false;
  #ended: Promise<void> | undefined;

  constructor(config: pg.PoolConfig, runtime: LakebasePoolRuntime) {
    super(config);
    this.#rt = runtime;
    const { poolName, logger } = runtime;
    // The client listener logs; this one only keeps an idle client's error from crashing us.
    this.on('error', (error: Error) => {
      runtime.telemetry.poolError(error);
      logger.debug(`${poolName} removed an idle connection (${errorType(error)})`);
    });
    this.on('connect', () =>
      logger.debug(`${poolName} opened a connection (${this.totalCount} open)`),
    );
    this.on('remove', () =>
      logger.debug(`${poolName} closed a connection (${this.totalCount} open)`),
    );
    this.#unregister = runtime.telemetry.registerPool(this, poolName);
  }

  /** True once `end()` was called: new work gets a `ClosedError`. */
  get isClosing(): boolean {
    return this.#closing;
  }

  override connect(): Promise<pg.PoolClient>;
  override connect(callback: ConnectCallback): void;
  override connect(callback?: ConnectCallback): Promise<pg.PoolClient> | undefined {
    if (this.#closing) {
      const error = new ClosedError('Cannot use a pool after calling end on the pool');
      if (!callback) return Promise.reject(error);
      process.nextTick(() => callback(error, undefined, noop));
      return undefined;
    }
    this.#outstanding++;
    if (callback) {
      this.#checkout(callback, undefined);
      return undefined;
    }
    return new Promise<pg.PoolClient>((resolve, reject) => {
      this.#checkout(
        (error, client) => (error ? reject(error) : resolve(client as pg.PoolClient)),
        undefined,
      );
    });
  }

  /**
   * A client whose session runs as `role` (`userPools.mode: 'set-role'`): set up before it is
   * handed out (or, `inline`, by the caller's first query: a `RoleQuery`), reset before anyone
   * else gets it. The service principal must hold SET on `role`.
   */
  connectAs(role: string, options: { inline?: boolean } = {}): Promise<pg.PoolClient> {
    if (this.#closing) {
      return Promise.reject(new ClosedError('Cannot use a pool after calling end on the pool'));
    }
    this.#outstanding++;
    const target: SessionTarget = { role, inline: options.inline === true };
    return new Promise<pg.PoolClient>((resolve, reject) => {
      this.#checkout(
        (error, client) => (error ? reject(error) : resolve(client as pg.PoolClient)),
        target,
      );
    });
  }

  override end(): Promise<void>;
  override end(callback: () => void): void;
  override end(callback?: (error?: Error) => void): Promise<void> | undefined {
    if (this.#ended) {
      const error = new Error('Called end on pool more than once');
      if (!callback) return Promise.reject(error);
      process.nextTick(() => callback(error));
      return undefined;
    }
    this.#closing = true;
    this.#rt.tokens?.quiesce();
    this.#rt.logger.debug(`${this.#rt.poolName} pool ending`);
    this.#ended = this.#drain()
      .then(() => super.end())
      .finally(() => this.#release());
    if (!callback) return this.#ended;
    this.#ended.then(
      () => callback(),
      (error: Error) => callback(error),
    );
    return undefined;
  }

  /** Resolves once every accepted connect() has been answered. */
  #drain(): Promise<void> {
    if (this.#outstanding === 0) return Promise.resolve();
    return new Promise<void>((resolve) => {
      this.#drained = resolve;
    });
  }

  /** After the last connection is gone: no token, timer, gauge or socket of ours is left. */
  #release(): void {
    this.#rt.tokens?.close();
    this.#unregister();
    if (this.#rt.ownsTelemetry) this.#rt.telemetry.close();
    else this.#rt.telemetry.flush();
  }

  /**
   * One accepted connect: pg-pool's own `connect()` (the hot path: no promise, no await), and
   * only on a failure the retry policy.
   */
  #checkout(callback: ConnectCallback, target: SessionTarget | undefined): void {
    const rt = this.#rt;
    const hostCheck = rt.hostCheck?.ready();
    if (hostCheck) {
      hostCheck.then(
        () => this.#checkoutChecked(callback, target),
        (error: Error) => this.#answer(callback, error),
      );
      return;
    }
    this.#checkoutChecked(callback, target);
  }

  #checkoutChecked(callback: ConnectCallback, target: SessionTarget | undefined): void {
    const rt = this.#rt;
    const ready = rt.identity?.ready();
    if (ready) {
      ready.then(
        () => this.#attempt(callback, target, performance.now(), undefined),
        (error: Error) => this.#answer(callback, error),
      );
      return;
    }
    this.#attempt(callback, target, performance.now(), undefined);
  }

  #attempt(
    callback: ConnectCallback,
    target: SessionTarget | undefined,
    started: number,
    attempt: Attempt | undefined,
  ): void {
    super.connect((error, client, done) => {
      if (!error) {
        const prepared = client && this.#rt.sessions?.prepare(client, target);
        if (!prepared) {
          this.#caughtUp(callback, started, client, done);
          return;
        }
        prepared.then(
          () => this.#caughtUp(callback, started, client, done),
          (failure: Error) => {
            done(true); // its session state is unknown: never reuse it
            this.#answer(callback, failure);
          },
        );
        return;
      }
      const state = attempt ?? this.#firstAttempt();
      this.#afterFailure(error, state).then(
        (retry) => {
          if (retry) this.#attempt(callback, target, started, state);
          else this.#answer(callback, error);
        },
        (final: Error) => this.#answer(callback, final),
      );
    });
  }

  /** A read pool's client once the replica has this app's last write (replica-gate.ts). */
  #caughtUp(
    callback: ConnectCallback,
    started: number,
    client: pg.PoolClient | undefined,
    done: (release?: Error | boolean) => void,
  ): void {
    const waited = client && this.#rt.replica?.prepare(client);
    if (!waited) {
      this.#deliver(callback, started, client, done);
      return;
    }
    waited.then(
      () => this.#deliver(callback, started, client, done),
      (failure: Error) => {
        // a replica behind is a fine connection; anything else (the query failed): destroy it
        done(failure instanceof ReplicaBehindError ? undefined : true);
        this.#answer(callback, failure);
      },
    );
  }

  #deliver(
    callback: ConnectCallback,
    started: number,
    client: pg.PoolClient | undefined,
    done: (release?: Error | boolean) => void,
  ): void {
    this.#rt.telemetry.connectionWait(this.#rt.poolName, (performance.now() - started) / 1000);
    this.#outstanding--;
    if (this.#outstanding === 0) this.#drained?.();
    callback(undefined, client, done);
  }

  #answer(callback: ConnectCallback, error: Error): void {
    this.#outstanding--;
    if (this.#outstanding === 0) this.#drained?.();
    callback(error, undefined, noop);
  }

  #firstAttempt(): Attempt {
    const timeout = this.options.connectionTimeoutMillis || 0;
    return {
      deadline: timeout > 0 ? this.#rt.clock.now() + timeout : Number.POSITIVE_INFINITY,
      authRetried: false,
      wakeAttempts: 0,
    };
  }

  /**
   * The retry policy after a failed connect: true to try again (after any backoff), false to
   * surface the error; rejects with a better error to surface instead.
   */
  async #afterFailure(error: Error, state: Attempt): Promise<boolean> {
    const rt = this.#rt;
    const type = errorType(error);
    if (isAcquireTimeout(error)) {
      rt.telemetry.connectionTimeout(rt.poolName);
      return false;
    }
    if (isAuthError(error)) {
      rt.telemetry.authFailure(rt.poolName);
      // the pooler refused a fresh token too: the direct host, once and for good (host-route.ts)
      if (state.authRetried && rt.tokens && rt.route?.fallBack(codeOf(error), this.options.user)) {
        rt.telemetry.connectRetry(rt.poolName, 'auth', type);
        return true;
      }
      if (state.authRetried || !rt.tokens) throw rt.login?.rejected?.(error) ?? error;
      const final = await rt.login?.beforeRetry?.(error);
      if (final) throw final;
      state.authRetried = true;
      rt.tokens.invalidate(rt.rejectedTokens.get(error));
      rt.telemetry.connectRetry(rt.poolName, 'auth', type);
      rt.logger.info(`${rt.poolName} login rejected (${type}); retrying once with a fresh token`);
      return true;
    }
    if (isWakeError(error)) {
      state.wakeAttempts++;
      const delay = backoffDelay(state.wakeAttempts, WAKE_BACKOFF, rt.random);
      if (!fitsBefore(rt.clock.now(), delay, state.deadline)) {
        throw new DatabaseUnavailableError(
          `${rt.poolName} could not reach Postgres at ${this.options.host}:${this.options.port} ` +
            `(${type}, ${state.wakeAttempts} attempt(s) within connectionTimeoutMillis): ` +
            redactSecrets(error.message, 160),
          { cause: error },
        );
      }
      rt.telemetry.connectRetry(rt.poolName, 'wake', type);
      rt.logger.info(
        `${rt.poolName} connect failed (${type}); the compute may be waking up, ` +
          `retry ${state.wakeAttempts} in ${Math.round(delay)} ms: ${redactSecrets(error.message, 120)}`,
      );
      await this.#sleep(delay);
      return true;
    }
    return false;
  }

  #sleep(ms: number): Promise<void> {
    return new Promise<void>((resolve) => {
      const handle = this.#rt.clock.setTimeout(resolve, ms);
      (handle as { unref?: () => unknown } | undefined)?.unref?.();
    });
  }
}
