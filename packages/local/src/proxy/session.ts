/**
 * One client connection through the proxy: the startup handshake (SSL negotiation, the token
 * as a cleartext password), then the StartupMessage replayed to Postgres over its private
 * socket, Postgres' startup answer checked, and bytes piped both ways.
 */
import type net from 'node:net';
import tls from 'node:tls';
import type { Log } from '../base/types.js';
import {
  authCleartextRequest,
  CANCEL_REQUEST,
  encodeMessage,
  fatalError,
  GSSENC_REQUEST,
  isMissingRole,
  PROTOCOL_3,
  parsePassword,
  parseStartupParams,
  SSL_REQUEST,
} from './protocol.js';
import type { ProxyStats } from './proxy-stats.js';
import { SocketReader } from './socket-reader.js';
import { closed, connectTo, endWith } from './sockets.js';
import type { Suspension } from './suspension.js';

/** What a session needs from its proxy. */
export interface SessionContext {
  /** Resolves the path of Postgres' socket once it is up (waits during a restart). */
  backendSocket(): Promise<string>;
  /** True when `password` lets `user` in at this door (a token, or a password role's password). */
  verify(user: string, password: string): boolean | Promise<boolean>;
  suspension: Suspension;
  stats: ProxyStats;
  log: Log;
  /** Set: SSLRequest gets `S` and plaintext startups FATAL 28000. Unset: SSLRequest gets `N`. */
  secureContext: tls.SecureContext | undefined;
  /** Databases no login may open here (a pooler's admin console): `not allowed`. */
  refuseDatabases?: readonly string[];
}

const ADMIN_SHUTDOWN = 'terminating connection due to administrator command';
const STARTING_UP = 'the database system is starting up';

export class ProxySession {
  readonly #context: SessionContext;
  /** The client connection: the TCP socket, or the TLS socket on top of it after `S`. */
  #client: net.Socket;
  #backend: net.Socket | undefined;
  #role: string | undefined;
  /** Postgres' backend pid, once connected. */
  #pid: number | undefined;
  #ended = false;
  readonly #onEnd: () => void;

  /** `onEnd` runs once, when the client connection closes. */
  constructor(socket: net.Socket, context: SessionContext, onEnd: () => void) {
    this.#context = context;
    this.#client = socket;
    this.#onEnd = onEnd;
    socket.setNoDelay(true);
    this.#watchClose(socket);
  }

  /** The backend pid of a piped session, else undefined. */
  get pid(): number | undefined {
    return this.#backend ? this.#pid : undefined;
  }

  /** Resolves when the client connection has closed. */
  closed(): Promise<void> {
    return closed(this.#client);
  }

  run(): void {
    this.#handshake().catch((error: Error) => {
      this.#context.log(`proxy: connection dropped during handshake (${error.message})`);
      this.destroy();
    });
  }

  /** Ends a session that has no backend yet as a terminated backend would (57P01). */
  refuseAsTerminated(): void {
    endWith(this.#client, fatalError('57P01', ADMIN_SHUTDOWN));
  }

  /**
   * Ends a piped session from the proxy's side, as a terminated backend would (57P01): for a
   * door whose backend is a pooler, where the pid the client saw is not a Postgres backend's.
   */
  terminate(): void {
    this.#backend?.unpipe(this.#client);
    this.#backend?.destroy();
    endWith(this.#client, fatalError('57P01', ADMIN_SHUTDOWN));
  }

  destroy(): void {
    this.#client.destroy();
    this.#backend?.destroy();
  }

  /** Ends the session once, when `socket` (TCP or the TLS layer on it) closes. */
  #watchClose(socket: net.Socket): void {
    socket.on('error', () => undefined);
    socket.on('close', () => {
      if (this.#ended) return;
      this.#ended = true;
      this.#backend?.destroy();
      if (this.#role !== undefined && this.#backend)
        this.#context.stats.connectionClosed(this.#role);
      this.#onEnd();
    });
  }

  async #handshake(): Promise<void> {
    const context = this.#context;
    let reader = new SocketReader(this.#client);
    let packet = await reader.readStartupPacket();
    let code = packet.readInt32BE(4);
    let encrypted = false;
    while (code === SSL_REQUEST || code === GSSENC_REQUEST) {
      const secureContext = context.secureContext;
      if (code === SSL_REQUEST && secureContext && !encrypted) {
        if (reader.detach().length > 0) {
          // Bytes sent before our answer would be read as if they had come over TLS.
          endWith(this.#client, fatalError('08P01', 'received unencrypted data after SSL request'));
          return;
        }
        this.#client.write('S');
        const secure = new tls.TLSSocket(this.#client, { isServer: true, secureContext });
        this.#client = secure;
        this.#watchClose(secure);
        reader = new SocketReader(secure);
        encrypted = true;
      } else {
        this.#client.write('N');
      }
      packet = await reader.readStartupPacket();
      code = packet.readInt32BE(4);
    }
    const client = this.#client;
    if (code === CANCEL_REQUEST) {
      reader.detach();
      await this.#forwardCancel(packet);
      client.destroy();
      return;
    }
    if (context.secureContext && !encrypted) {
      endWith(client, fatalError('28000', 'SSL connection is required'));
      return;
    }
    if (code !== PROTOCOL_3) {
      const version = `${code >> 16}.${code & 0xffff}`;
      endWith(client, fatalError('0A000', `unsupported frontend protocol ${version}`));
      return;
    }
    const params = parseStartupParams(packet);
    const user = params.user;
    if (!user) {
      endWith(client, fatalError('28000', 'no PostgreSQL user name specified in startup packet'));
      return;
    }
    if (context.suspension.refusing) {
      endWith(client, fatalError('57P03', STARTING_UP));
      return;
    }
    client.write(authCleartextRequest());
    const message = await reader.readMessage();
    if (message.type !== 'p') {
      const text = `expected password response, got message type "${message.type}"`;
      endWith(client, fatalError('08P01', text));
      return;
    }
    const ok = await context.verify(user, parsePassword(message.body));
    context.stats.authAttempt(ok);
    if (!ok) {
      context.log(`proxy: password authentication failed for user "${user}"`);
      endWith(client, fatalError('28P01', `password authentication failed for user "${user}"`));
      return;
    }
    if (context.refuseDatabases?.includes(params.database ?? user)) {
      context.log(`proxy: "${user}" asked for database "${params.database}": not allowed`);
      endWith(client, fatalError('08P01', 'not allowed'));
      return;
    }
    const backend = await this.#connectBackend(user);
    if (!backend) return;
    await this.#pipe(backend, user, packet, reader.detach());
  }

  /** Postgres' socket, once not suspended and not restarting; undefined when given up. */
  async #connectBackend(user: string): Promise<net.Socket | undefined> {
    const context = this.#context;
    const client = this.#client;
    if (context.suspension.refusing) {
      endWith(client, fatalError('57P03', STARTING_UP));
      return undefined;
    }
    context.stats.held(1);
    let socketPath: string | undefined;
    try {
      if (context.suspension.mode) {
        context.log(`proxy: holding connection for "${user}" until wake()`);
        await Promise.race([context.suspension.awake(), closed(client)]);
        if (client.destroyed) return undefined;
      }
      socketPath = await Promise.race([
        context.backendSocket(),
        closed(client).then(() => undefined),
      ]);
    } finally {
      context.stats.held(-1);
    }
    if (client.destroyed || !socketPath) return undefined;
    const backend = await connectTo(socketPath).catch(() => undefined);
    if (!backend) {
      endWith(client, fatalError('57P03', STARTING_UP));
      return undefined;
    }
    if (client.destroyed) {
      backend.destroy();
      return undefined;
    }
    return backend;
  }

  async #pipe(backend: net.Socket, user: string, startup: Buffer, rest: Buffer): Promise<void> {
    const client = this.#client;
    const context = this.#context;
    this.#backend = backend;
    backend.on('error', () => undefined);
    // Postgres' startup answer (up to ReadyForQuery or an error) is held back: a missing role
    // is refused as Lakebase refuses it, with 28P01 (not Postgres' 28000 "role ... does not
    // exist", which trust authentication sends after AuthenticationOk).
    const reader = new SocketReader(backend);
    backend.write(startup);
    if (rest.length > 0) backend.write(rest);
    const startupAnswer: Buffer[] = [];
    let last: { type: string; body: Buffer } | undefined;
    while (last?.type !== 'Z' && last?.type !== 'E') {
      last = await reader.readMessage().catch(() => undefined);
      if (!last || client.destroyed) {
        this.destroy();
        return;
      }
      if (last.type === 'K' && last.body.length >= 4) this.#pid = last.body.readInt32BE(0);
      startupAnswer.push(encodeMessage(last.type, last.body));
    }
    if (last.type === 'E' && isMissingRole(last.body)) {
      context.stats.authRejected();
      context.log(`proxy: "${user}" has no Postgres role`);
      backend.destroy();
      endWith(client, fatalError('28P01', `password authentication failed for user "${user}"`));
      return;
    }
    if (last.type === 'E') {
      // refused by Postgres at startup (too many connections, starting up): no connection was
      // made, so none is counted; the client gets the error as Postgres sent it
      backend.destroy();
      endWith(client, Buffer.concat(startupAnswer));
      return;
    }
    this.#role = user;
    context.stats.connectionOpened(user);
    backend.on('close', () => {
      client.end();
      setTimeout(() => client.destroy(), 5000).unref();
    });
    client.write(Buffer.concat([...startupAnswer, reader.detach()]));
    backend.pipe(client);
    client.pipe(backend);
    backend.resume();
    context.log(`proxy: "${user}" connected`);
  }

  async #forwardCancel(packet: Buffer): Promise<void> {
    const backend = await connectTo(await this.#context.backendSocket()).catch(() => undefined);
    if (!backend) return;
    backend.on('error', () => undefined);
    backend.end(packet);
  }
}
