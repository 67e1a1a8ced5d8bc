/**
 * Errors that fit their host: through the plugin, the errors of `@lakebase-kit/core` become
 * AppKit's own classes (`AuthenticationError`, `ConnectionError`, ... of `@databricks/appkit`),
 * with AppKit's `code`, `statusCode` and `isRetryable`, and the core error as `cause`. Errors
 * that are not the kit's (Postgres' `DatabaseError`, Node's system errors) pass through
 * unchanged, as the official plugin passes them. No message here ever holds a token: the core
 * messages never do, and the two official ones below name no value.
 */
import {
  AuthenticationError,
  ConfigurationError,
  ConnectionError,
  ExecutionError,
  ValidationError,
} from '@databricks/appkit';
import * as core from '@lakebase-kit/core';
import type pg from 'pg';

type AppKitErrorOptions = { cause: Error; context: Record<string, unknown> };

/**
 * The AppKit error for a core error, or `error` itself when it is not the kit's. The mapping
 * (README, "Errors"): authentication → `AuthenticationError` (401); a malformed value →
 * `ValidationError` (400); configuration, and a credential call that retrying will not fix →
 * `ConfigurationError` (500); an unreachable database, a credential call worth retrying, an
 * exhausted connection budget, overload and a closed plugin → `ConnectionError` (503,
 * retryable); a released client used again → `ExecutionError` (500).
 */
export function toAppKitError(error: unknown): unknown {
  if (!(error instanceof core.LakebaseError)) return error;
  const options: AppKitErrorOptions = { cause: error, context: { lakebaseCode: error.code } };
  if (error instanceof core.AuthenticationError) {
    return new AuthenticationError(error.message, options);
  }
  if (error instanceof core.ValidationError) return new ValidationError(error.message, options);
  if (error instanceof core.ConfigurationError) {
    return new ConfigurationError(error.message, options);
  }
  if (error instanceof core.CredentialError) {
    return error.retryable
      ? new ConnectionError(error.message, options)
      : new ConfigurationError(error.message, options);
  }
  if (
    error instanceof core.DatabaseUnavailableError ||
    error instanceof core.PoolBudgetError ||
    error instanceof core.OverloadedError ||
    error instanceof core.ClosedError
  ) {
    return new ConnectionError(error.message, options);
  }
  return new ExecutionError(error.message, options);
}

/** Runs `fn`, rethrowing its errors as AppKit's (sync). */
export function appkitErrors<T>(fn: () => T): T {
  try {
    return fn();
  } catch (error) {
    throw toAppKitError(error);
  }
}

/** `promise`, its rejection as AppKit's error. */
export function appkitRejections<T>(promise: Promise<T>): Promise<T> {
  return promise.catch((error: unknown) => {
    throw toAppKitError(error);
  });
}

/** Calls `fn` (sync throws and rejections both as AppKit's errors). */
export function appkitAsync<T>(fn: () => Promise<T>): Promise<T> {
  try {
    return appkitRejections(fn());
  } catch (error) {
    return Promise.reject(toAppKitError(error));
  }
}

/**
 * The errors `asUser(req)` throws when the request carries no user, with the official plugin's
 * messages: it checks the token first, then the user id, as AppKit's `Plugin.asUser` does. Only
 * called when core refused the request (so the development fallback has had its say).
 */
export function missingUserError(
  req: core.RequestLike,
  refusal: core.AuthenticationError,
): Error | undefined {
  let identity: core.RequestIdentity;
  try {
    identity = core.readRequestIdentity(req);
  } catch {
    return undefined;
  }
  if (identity.token === undefined) {
    const error = AuthenticationError.missingToken('user token');
    return withCause(error, refusal);
  }
  if (identity.identity === undefined)
    return withCause(AuthenticationError.missingUserId(), refusal);
  return undefined;
}

/** The official factories take no cause: set it as the constructor would have. */
function withCause<E extends Error>(error: E, cause: Error): E {
  Object.defineProperty(error, 'cause', {
    value: cause,
    writable: true,
    enumerable: false,
    configurable: true,
  });
  return error;
}

const pools = new WeakMap<pg.Pool, pg.Pool>();

type Callback = (error: unknown, ...results: unknown[]) => void;

function isThenable(value: unknown): value is Promise<unknown> {
  return typeof (value as { then?: unknown } | null)?.then === 'function';
}

/**
 * Calls `method` with `args`, its errors as AppKit's: a callback's error argument, a sync throw
 * or a rejection. A non-promise answer (a `Submittable` such as a cursor) is returned as is.
 */
function callMapped(method: (...args: unknown[]) => unknown, args: unknown[]): unknown {
  const last = args.at(-1);
  if (typeof last === 'function') {
    const callback = last as Callback;
    const mapped: Callback = (error, ...results) =>
      callback(error ? toAppKitError(error) : error, ...results);
    return appkitErrors(() => method(...args.slice(0, -1), mapped));
  }
  const result = appkitErrors(() => method(...args));
  return isThenable(result) ? appkitRejections(result) : result;
}

/**
 * `pool` whose `query` and `connect` answer AppKit's errors (the same pool otherwise: every other
 * member is the pool's own, bound to it, and `instanceof pg.Pool` holds). One view per pool, so
 * `AppKit.lakebase.pool` is the same object on every access.
 */
export function appkitPool(pool: pg.Pool): pg.Pool {
  let view = pools.get(pool);
  if (view) return view;
  type Method = (...args: unknown[]) => unknown;
  const bound = new WeakMap<Method, Method>();
  const query: Method = (...args) => callMapped(pool.query.bind(pool) as Method, args);
  const connect: Method = (...args) => callMapped(pool.connect.bind(pool) as Method, args);
  view = new Proxy(pool, {
    get(target, prop) {
      if (prop === 'query') return query;
      if (prop === 'connect') return connect;
      const value: unknown = Reflect.get(target, prop, target);
      if (typeof value !== 'function') return value;
      // the pool's own methods run on the pool itself (its private fields are not the proxy's)
      let method = bound.get(value as Method);
      if (!method) {
        method = (value as Method).bind(target);
        bound.set(value as Method, method);
      }
      return method;
    },
    set: (target, prop, value) => Reflect.set(target, prop, value, target),
  });
  pools.set(pool, view);
  return view;
}
