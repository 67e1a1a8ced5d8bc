/**
 * The token-checking wire proxy: the only door to Postgres. It asks for a cleartext password,
 * accepts only a token minted for exactly the requested user, then replays the StartupMessage
 * to the real Postgres over its private Unix socket and pipes bytes (session.ts).
 */
import net from 'node:net';
import tls from 'node:tls';
import { listen } from '../base/ports.js';
import type { Log } from '../base/types.js';
import type { ProxyStats } from './proxy-stats.js';
import { ProxySession, type SessionContext } from './session.js';
import type { Suspension } from './suspension.js';

export interface WireProxyOptions {
  /** Resolves the path of Postgres' socket once it is up (waits during a restart). */
  backendSocket(): Promise<string>;
  /** True when `password` lets `user` in at this door (a token, or a password role's password). */
  verify(user: string, password: string): boolean | Promise<boolean>;
  /**
   * Terminates backends by pid (pg_terminate_backend), as the superuser. Absent (a pooler
   * behind the door, whose pids are not Postgres backends'): the proxy ends the sessions itself.
   */
  terminateBackends?(pids: number[]): Promise<void>;
  suspension: Suspension;
  stats: ProxyStats;
  log: Log;
  /**
   * Server key and certificate: SSLRequest is answered `S` and the session continues over TLS;
   * a plaintext StartupMessage is rejected with FATAL 28000. Absent: SSLRequest gets `N`.
   */
  tls?: { key: string; cert: string };
  /** Databases no login may open through this door (a pooler's admin console). */
  refuseDatabases?: readonly string[];
}

/** How long `terminateAll()` waits for terminated connections to close before cutting them. */
const TERMINATE_GRACE_MS = 3000;

export class WireProxy {
  readonly #options: WireProxyOptions;
  readonly #server: net.Server;
  readonly #sessions = new Set<ProxySession>();
  readonly #context: SessionContext;
  #port = 0;
  #host = '127.0.0.1';

  constructor(options: WireProxyOptions) {
    this.#options = options;
    this.#context = {
      backendSocket: options.backendSocket,
      verify: options.verify,
      suspension: options.suspension,
      stats: options.stats,
      log: options.log,
      // Built once: a TLSSocket given key and cert would parse them again on every connection.
      secureContext: options.tls && tls.createSecureContext(options.tls),
      refuseDatabases: options.refuseDatabases,
    };
    this.#server = net.createServer((socket) => this.#accept(socket));
    this.#server.on('error', (error) => options.log(`proxy: server error ${error.message}`));
  }

  get port(): number {
    return this.#port;
  }

  /** The loopback address it listens on. */
  get host(): string {
    return this.#host;
  }

  /** Listens on `host`:`port` (0: a free port). */
  async start(port: number, host = '127.0.0.1'): Promise<number> {
    this.#port = await listen(this.#server, port, host);
    this.#host = host;
    return this.#port;
  }

  /** Terminates every open proxied connection with FATAL 57P01, then resolves when closed. */
  async terminateAll(): Promise<void> {
    const pids: number[] = [];
    const closing: Promise<void>[] = [];
    const terminateBackends = this.#options.terminateBackends;
    for (const session of this.#sessions) {
      closing.push(session.closed());
      if (session.pid === undefined) {
        // Still in the handshake (or held while suspended): answer like a terminated backend.
        session.refuseAsTerminated();
      } else if (terminateBackends) pids.push(session.pid);
      else session.terminate();
    }
    if (pids.length > 0 && terminateBackends) {
      await terminateBackends(pids).catch((error: Error) => {
        this.#options.log(`proxy: pg_terminate_backend failed: ${error.message}`);
      });
    }
    let timer: NodeJS.Timeout | undefined;
    const grace = new Promise<void>((resolve) => {
      timer = setTimeout(resolve, TERMINATE_GRACE_MS);
    });
    await Promise.race([Promise.all(closing), grace]);
    clearTimeout(timer);
    for (const session of this.#sessions) {
      if (session.pid !== undefined) session.destroy();
    }
  }

  async close(): Promise<void> {
    for (const session of this.#sessions) session.destroy();
    await new Promise<void>((resolve) => this.#server.close(() => resolve()));
  }

  #accept(socket: net.Socket): void {
    const session = new ProxySession(socket, this.#context, () => this.#sessions.delete(session));
    this.#sessions.add(session);
    session.run();
  }
}
