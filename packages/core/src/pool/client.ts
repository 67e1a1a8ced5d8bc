/**
 * `LakebaseClient`: the `pg.Client` subclass our pools hand to pg through its public `Client`
 * option. It owns what belongs to one connection: the password (a token with a deadline, or the
 * native password), an optional slot of a connection budget, closing its own socket after a
 * failed connect, an `error` listener so a dying connection never crashes the process, and the
 * query spans. It never touches pg's private fields; the retries live in the pool (pool.ts).
 */
import pg from 'pg';
import type { Clock } from '../base/clock.js';
import { redactSecrets } from '../base/errors.js';
import type { Logger } from '../base/logger.js';
import { copyQueryConfig } from '../base/query-config.js';
import { retargetSsl } from '../config/tls.js';
import { errorType } from '../telemetry/attributes.js';
import type { QueryTracer, Telemetry } from '../telemetry/telemetry.js';
import type { HostRoute } from './host-route.js';
import type { PooledStatements } from './pooled-statements.js';
import { CURRENT_LSN_SQL, type WriteLsn } from './write-lsn.js';

/** Gives a budget slot back; calling it more than once is a no-op. */
export type ReleaseSlot = () => void;

/** A source of connection slots (the user-connection budget). */
export interface ConnectionSlots {
  /** A slot, or a typed error once `deadline` (epoch ms) passes. */
  acquire(deadline: number): Promise<ReleaseSlot>;
}

/** Where a connection's password comes from. */
export interface PasswordSource {
  /** The password for a login that must be ready by `deadline` (epoch ms). */
  password(deadline: number): Promise<string>;
  /** True for OAuth tokens (a rejected one is worth one retry with a fresh token). */
  readonly isToken: boolean;
}

/** The Postgres role a connection logs in as, once known (see service-principal.ts). */
export interface LoginUser {
  current(): string | undefined;
}

export interface ClientRuntime {
  passwords: PasswordSource;
  /** Overrides the configured `user` once it is known (a role looked up with SCIM). */
  user?: LoginUser;
  /** Remembers which token a failed login used, so the pool invalidates exactly that one. */
  rejectedTokens: WeakMap<object, string>;
  slots?: ConnectionSlots;
  clock: Clock;
  poolName: string;
  logger: Logger;
  telemetry: Telemetry;
  tracer: QueryTracer;
  /** Where each new connection goes (pooled mode: the pooler, or the direct host after a fallback). */
  route?: HostRoute;
  /** On the pooler: the statements refused there (pooled-statements.ts). */
  pooled?: PooledStatements;
  /** A primary's connections record the WAL position after a write (read-your-writes). */
  writes?: WriteLsn;
}

/** Leave this much of the connect timeout to pg, so that our typed error arrives first. */
function deadlineMargin(timeoutMs: number): number {
  return Math.min(1000, timeoutMs / 10);
}

/** A submittable (`pg.Query`, pg-cursor, pg-query-stream): an EventEmitter with `submit`. */
interface Submittable {
  text?: string;
  values?: unknown[];
  submit?: unknown;
  once?: (event: string, listener: (...args: unknown[]) => void) => unknown;
}

/** Ends `recorder` on the submittable's first `end`, `error` or `close` event (its public ones). */
function endOnCompletion(submittable: Submittable, recorder: { end(error?: unknown): void }) {
  if (typeof submittable.once !== 'function') {
    recorder.end();
    return;
  }
  submittable.once('end', () => recorder.end());
  submittable.once('close', () => recorder.end());
  submittable.once('error', (error) => recorder.end(error));
}

/** `class extends Base` with the per-connection behaviour described in the file header. */
export function lakebaseClientClass(Base: typeof pg.Client, rt: ClientRuntime): typeof pg.Client {
  const { passwords, clock, telemetry, tracer } = rt;

  class LakebaseClient extends Base {
    readonly #deadline: number;
    /** True for a connection to the pooler (PgBouncer, transaction mode). */
    readonly #pooled: boolean;
    #token: string | undefined;
    /** The password asked for while this connect waited for a budget slot (used once). */
    #earlyPassword: Promise<string> | undefined;

    constructor(config?: string | pg.ClientConfig) {
      const options: pg.ClientConfig =
        typeof config === 'string'
          ? { connectionString: config }
          : typeof config === 'object' && config !== null
            ? { ...config }
            : {};
      const timeout = options.connectionTimeoutMillis || 0;
      const createdAt = clock.now();
      const deadline =
        timeout > 0 ? createdAt + timeout - deadlineMargin(timeout) : Number.POSITIVE_INFINITY;
      const user = rt.user?.current();
      if (user !== undefined) options.user = user;
      const target = rt.route?.current();
      if (target) {
        if (target.host !== options.host) options.ssl = retargetSsl(options.ssl, target.host);
        options.host = target.host;
        options.port = target.port;
      }
      const holder: { client?: LakebaseClient } = {};
      options.password = async () => {
        const client = holder.client;
        const early = client ? client.#earlyPassword : undefined;
        if (client) client.#earlyPassword = undefined;
        const password = await (early ?? passwords.password(deadline));
        if (client && passwords.isToken) client.#token = password;
        return password;
      };
      super(options);
      holder.client = this;
      this.#deadline = deadline;
      this.#pooled = rt.pooled !== undefined && rt.route?.pooled === true;
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
      const result = this.#connectOnce();
      if (typeof callback === 'function') {
        result.then(
          () => callback(null, this),
          (error: unknown) => callback(error),
        );
        return undefined;
      }
      return result;
    }

    async #connectOnce(): Promise<this> {
      const started = performance.now();
      if (rt.slots && passwords.isToken) {
        // The token is asked for while this connect waits for a budget slot, so a slot is held
        // for the login only, never for a credential call. The login uses this very answer (a
        // failure surfaces there, as it would have).
        const early = passwords.password(this.#deadline);
        early.catch(() => {});
        this.#earlyPassword = early;
      }
      const release = rt.slots ? await rt.slots.acquire(this.#deadline) : undefined;
      // The slot comes back when this connection has ended (after a failed connect too), so
      // the server never sees more connections than the budget.
      if (release) this.once('end', release);
      try {
        // the callback form: it is what every pg.Client (and subclass of one) implements
        await new Promise<void>((resolve, reject) => {
          (super.connect as (cb: (error?: Error | null) => void) => void).call(this, (error) =>
            error ? reject(error) : resolve(),
          );
        });
      } catch (error) {
        if (this.#token !== undefined && error && typeof error === 'object') {
          rt.rejectedTokens.set(error, this.#token);
        }
        // pg keeps the socket open after a password failure; close it through the public API.
        this.end().catch(() => {});
        throw error;
      }
      telemetry.connectionCreated(rt.poolName, (performance.now() - started) / 1000);
      return this;
    }

    // biome-ignore lint/suspicious/noExplicitAny: pg's overloaded query(config, values?, callback?)
    override query(config: any, values?: any, callback?: any): any {
      if (this.#pooled || rt.writes) return this.#scaledQuery(config, values, callback);
      return this.#tracedQuery(config, values, callback);
    }

    /**
     * On the pooler: a statement that needs a session is refused before anything is sent, and
     * pg's named statements run unnamed. On a primary with a read replica: after a statement
     * that may have written, the WAL position, before the caller gets the answer.
     */
    // biome-ignore lint/suspicious/noExplicitAny: pg's overloaded query(config, values?, callback?)
    #scaledQuery(config: any, values?: any, callback?: any): any {
      const text: string | undefined = typeof config === 'string' ? config : config?.text;
      const submittable = typeof config?.submit === 'function';
      const done: ((error: unknown, result?: unknown) => void) | undefined =
        typeof callback === 'function'
          ? callback
          : typeof values === 'function'
            ? values
            : typeof config?.callback === 'function' && !submittable
              ? config.callback
              : undefined;
      let query = config;
      if (this.#pooled && rt.pooled) {
        const refusal = typeof text === 'string' ? rt.pooled.refusal(text) : undefined;
        if (refusal) {
          if (submittable) {
            queueMicrotask(() =>
              config instanceof pg.Query
                ? (config as unknown as { handleError(e: Error): void }).handleError(refusal)
                : config.emit?.('error', refusal),
            );
            return config;
          }
          if (done) {
            queueMicrotask(() => done(refusal));
            return undefined;
          }
          return Promise.reject(refusal);
        }
        if (!submittable && typeof config === 'object' && config?.name) {
          // PgBouncer (transaction mode) keeps no prepared statement across transactions
          query = copyQueryConfig(config, { name: undefined });
        }
      }
      const writes = rt.writes;
      if (!writes || submittable || typeof text !== 'string' || !writes.mayWrite(text)) {
        return this.#tracedQuery(query, values, callback);
      }
      const params = typeof values === 'function' ? undefined : values;
      const answered = new Promise((resolve, reject) => {
        this.#tracedQuery(
          typeof query === 'object' && query !== null
            ? copyQueryConfig(query, query.callback ? { callback: undefined } : undefined)
            : query,
          params,
          (error: unknown, result: unknown) => {
            if (error) {
              reject(error);
              return;
            }
            // the position at or past this write's commit, on the same connection
            super.query(CURRENT_LSN_SQL, (lsnError: Error | null, lsn: pg.QueryResult) => {
              if (lsnError) {
                rt.logger.debug(`${rt.poolName} could not read the WAL position after a write`);
              } else {
                writes.record(lsn.rows[0]?.lsn);
              }
              resolve(result);
            });
          },
        );
      });
      if (!done) return answered;
      answered.then(
        (result) => done(undefined, result),
        (error) => done(error),
      );
      return undefined;
    }

    // biome-ignore lint/suspicious/noExplicitAny: pg's overloaded query(config, values?, callback?)
    #tracedQuery(config: any, values?: any, callback?: any): any {
      if (!telemetry.recordsQueries(Base)) {
        // a callback given (pg-pool's, for one): pg before 8.23.1 would write it onto the config
        return typeof callback === 'function' || typeof values === 'function'
          ? super.query(ownConfig(config), values, callback)
          : super.query(config, values, callback);
      }
      const text: string | undefined = typeof config === 'string' ? config : config?.text;
      const params = Array.isArray(values) ? values : config?.values;
      const recorder = tracer.start(text, Array.isArray(params) && params.length > 0);
      if (typeof config?.submit === 'function') {
        // A submittable: one span for its whole life, ended by its own events.
        endOnCompletion(config as Submittable, recorder);
        return super.query(config, values, callback);
      }
      const done =
        typeof callback === 'function'
          ? callback
          : typeof values === 'function'
            ? values
            : undefined;
      if (done) {
        // pg is handed our callback: on a copy of an object config, never the caller's object
        const own = ownConfig(config);
        const traced = (error: unknown, result: unknown) => {
          recorder.end(error ? error : undefined);
          done(error, result);
        };
        return done === callback ? super.query(own, values, traced) : super.query(own, traced);
      }
      if (typeof config?.callback === 'function') {
        // pg's own callback-in-config form: it answers there, not with a promise
        const result = super.query(config, values);
        recorder.end();
        return result;
      }
      // One promise, ours, over pg's callback form (pg's promise form plus a .then would be two):
      // the span and duration end with the answer, at no extra turn.
      const own = ownConfig(config);
      return new Promise((resolve, reject) => {
        try {
          super.query(own, values, (error: unknown, result: unknown) => {
            if (error) {
              recorder.end(error);
              reject(error);
            } else {
              recorder.end();
              resolve(result);
            }
          });
        } catch (error) {
          recorder.end(error);
          reject(error);
        }
      });
    }
  }
  return LakebaseClient as unknown as typeof pg.Client;
}

/**
 * What pg is given with a callback: a string or a submittable (a `pg.Query`, a cursor) as it
 * is, an object config copied (pg before 8.23.1 writes the callback onto the object it is given).
 */
// biome-ignore lint/suspicious/noExplicitAny: pg's query config, any of its forms
function ownConfig(config: any): any {
  return typeof config === 'object' && config !== null && typeof config.submit !== 'function'
    ? copyQueryConfig(config)
    : config;
}

/** The default Base: pg's own `Client`. */
export const defaultClientBase: typeof pg.Client = pg.Client;
