/**
 * A user's lease of a pool client (`asUser(req).pool.connect()`, and every ORM transaction that
 * goes through it): the client as pg made it, seen through a `Proxy` that is dead once released.
 * After `release()`, every call and every property read is refused with a
 * `ReleasedClientError` — a stale reference can never run on a connection that now serves
 * someone else (or the service principal) — and the event listeners added through the lease
 * are removed from the connection, so no later session's `notification` or `notice` reaches
 * the former holder. Nothing of pg is changed: the lease is our own object in front of it.
 */
import type pg from 'pg';
import { ReleasedClientError } from '../base/errors.js';

/** What ends a lease: gives the client back (or destroys it), as pg's `release(err?)`. */
export type ReleaseClient = (destroy?: Error | boolean) => void;

const LISTENER_METHODS = new Set([
  'on',
  'addListener',
  'once',
  'prependListener',
  'prependOnceListener',
]);

type Listener = (...args: unknown[]) => void;

function afterRelease(property: string | symbol): ReleasedClientError {
  return new ReleasedClientError(
    `${String(property)} was used on a client after release(): check out a new one with pool.connect()`,
  );
}

/**
 * `client`, leased: `release` (called once) ends the lease and calls `giveBack`; `destroy` is
 * what pg's `release(err)` does (the connection is closed).
 */
export function leaseClient(client: pg.PoolClient, giveBack: ReleaseClient): pg.PoolClient {
  let released = false;
  /** Listeners added through the lease (removed from the connection at release). */
  let listeners: Array<[string | symbol, Listener]> | undefined;
  /** Methods bound to the client, made on first read (no allocation per query after that). */
  const bound = new Map<string | symbol, unknown>();

  const release: ReleaseClient = (destroy) => {
    if (released)
      throw new ReleasedClientError('release() was called on a client already released');
    released = true;
    if (listeners) {
      for (const [event, listener] of listeners) client.removeListener(event, listener);
      listeners = undefined;
    }
    bound.clear();
    giveBack(destroy);
  };

  const proxy: pg.PoolClient = new Proxy(client, {
    get(target, property) {
      if (property === 'release') return release;
      if (released) {
        // `await lease` reads `then`: a released client is still not a promise
        if (property === 'then' || typeof property === 'symbol') return undefined;
        throw afterRelease(property);
      }
      const cached = bound.get(property);
      if (cached !== undefined) return cached;
      const value = Reflect.get(target, property, target);
      if (typeof value !== 'function') return value;
      // A method handed out checks the lease on every call: one kept from before release()
      // (`const { query } = client`, `client.query.bind(client)`) is refused like the rest.
      let method: unknown;
      if (typeof property === 'string' && LISTENER_METHODS.has(property)) {
        method = (event: string | symbol, listener: Listener) => {
          if (released) throw afterRelease(property);
          listeners ??= [];
          listeners.push([event, listener]);
          (value as (e: string | symbol, l: Listener) => unknown).call(target, event, listener);
          return proxy;
        };
      } else {
        const call = value as (...args: unknown[]) => unknown;
        method = (...args: unknown[]) => {
          if (released) throw afterRelease(property);
          return call.apply(target, args);
        };
      }
      bound.set(property, method);
      return method;
    },
    set(target, property, value) {
      if (released) {
        throw new ReleasedClientError(
          `${String(property)} was set on a client after release(): check out a new one with pool.connect()`,
        );
      }
      return Reflect.set(target, property, value, target);
    },
  });
  return proxy;
}
