/**
 * The token-checking wire proxy: the only door for applications. It asks for a cleartext
 * password, accepts only a token minted by this emulator for exactly the requested user,
 * then replays the StartupMessage to the real Postgres over its private Unix socket (where
 * `trust` lets the proxy in) and pipes bytes.
 */
import net from 'node:net';
import tls from 'node:tls';
import type { FaultState } from './faults.js';
import { listen } from './ports.js';
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
import { SocketReader } from './socket-reader.js';
import type { StatsRecorder } from './stats.js';

export interface ProxyDeps {
  /** Resolves the path of the real Postgres' Unix socket once it is up (waits during a restart). */
  backendSocket(): Promise<string>;
  /** True when `password` is a valid Postgres token for `user`. */
  verify(user: string, password: string): boolean;
  /** Terminates backends by pid (pg_terminate_backend), as the superuser. */
  terminateBackends(pids: number[]): Promise<void>;
  stats: StatsRecorder;
  faults: FaultState;
  log(line: string): void;
  /**
   * Server key and certificate: SSLRequest is answered `S` and the session continues over TLS;
   * a plaintext StartupMessage is rejected with FATAL 28000. Absent: SSLRequest gets `N`.
   */
  tls?: { key: string; cert: string };
}

interface Session {
  /** The client connection: the TCP socket, or the TLS socket on top of it after `S`. */
  client: net.Socket;
  backend?: net.Socket;
  role?: string;
  pid?: number;
}

export class WireProxy {
  private readonly server: net.Server;
  private readonly sessions = new Set<Session>();
  /** Built once: a TLSSocket given key and cert would parse them again on every connection. */
  private readonly secureContext: tls.SecureContext | undefined;
  port = 0;

  constructor(private readonly deps: ProxyDeps) {
    this.secureContext = deps.tls && tls.createSecureContext(deps.tls);
    this.server = net.createServer((client) => this.accept(client));
    this.server.on('error', (error) => deps.log(`proxy: server error ${error.message}`));
  }

  async start(port: number): Promise<number> {
    this.port = await listen(this.server, port);
    return this.port;
  }

  /** Terminates every open proxied connection with FATAL 57P01, then resolves when closed. */
  async terminateAll(): Promise<void> {
    const pids: number[] = [];
    const closing: Promise<void>[] = [];
    for (const session of this.sessions) {
      closing.push(closedPromise(session.client));
      if (session.pid !== undefined && session.backend) {
        pids.push(session.pid);
      } else {
        // Still in the handshake (or held while suspended): answer like a terminated backend.
        endWith(session.client, fatalError('57P01', ADMIN_SHUTDOWN));
      }
    }
    if (pids.length > 0) {
      await this.deps.terminateBackends(pids).catch((error: Error) => {
        this.deps.log(`proxy: pg_terminate_backend failed: ${error.message}`);
      });
    }
    const timeout = new Promise<void>((resolve) => setTimeout(resolve, 3000).unref());
    await Promise.race([Promise.all(closing), timeout]);
    for (const session of this.sessions) {
      if (session.pid !== undefined) session.client.destroy();
    }
  }

  async close(): Promise<void> {
    for (const session of this.sessions) {
      session.client.destroy();
      session.backend?.destroy();
    }
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  private accept(socket: net.Socket): void {
    const session: Session = { client: socket };
    this.sessions.add(session);
    socket.setNoDelay(true);
    this.watchClose(session, socket);
    this.handshake(session).catch((error: Error) => {
      this.deps.log(`proxy: connection dropped during handshake (${error.message})`);
      session.client.destroy();
      socket.destroy();
    });
  }

  /** Ends the session once, when `socket` (TCP or the TLS layer on it) closes. */
  private watchClose(session: Session, socket: net.Socket): void {
    socket.on('error', () => undefined);
    socket.on('close', () => {
      if (!this.sessions.delete(session)) return;
      session.backend?.destroy();
      if (session.role !== undefined && session.backend) {
        this.deps.stats.connectionClosed(session.role);
      }
    });
  }

  private async handshake(session: Session): Promise<void> {
    let reader = new SocketReader(session.client);
    let packet = await reader.readStartupPacket();
    let code = packet.readInt32BE(4);
    let encrypted = false;
    while (code === SSL_REQUEST || code === GSSENC_REQUEST) {
      const secureContext = this.secureContext;
      if (code === SSL_REQUEST && secureContext && !encrypted) {
        if (reader.detach().length > 0) {
          // Bytes sent before our answer would be read as if they had come over TLS.
          endWith(
            session.client,
            fatalError('08P01', 'received unencrypted data after SSL request'),
          );
          return;
        }
        session.client.write('S');
        const secure = new tls.TLSSocket(session.client, { isServer: true, secureContext });
        session.client = secure;
        this.watchClose(session, secure);
        reader = new SocketReader(secure);
        encrypted = true;
      } else {
        session.client.write('N');
      }
      packet = await reader.readStartupPacket();
      code = packet.readInt32BE(4);
    }
    const client = session.client;
    if (code === CANCEL_REQUEST) {
      reader.detach();
      await this.forwardCancel(packet);
      client.destroy();
      return;
    }
    if (this.deps.tls && !encrypted) {
      endWith(client, fatalError('28000', 'SSL connection is required'));
      return;
    }
    if (code !== PROTOCOL_3) {
      endWith(
        client,
        fatalError('0A000', `unsupported frontend protocol ${code >> 16}.${code & 0xffff}`),
      );
      return;
    }
    const params = parseStartupParams(packet);
    const user = params.user;
    if (!user) {
      endWith(client, fatalError('28000', 'no PostgreSQL user name specified in startup packet'));
      return;
    }
    if (this.deps.faults.refusing()) {
      endWith(client, fatalError('57P03', 'the database system is starting up'));
      return;
    }
    client.write(authCleartextRequest());
    const message = await reader.readMessage();
    if (message.type !== 'p') {
      endWith(
        client,
        fatalError('08P01', `expected password response, got message type "${message.type}"`),
      );
      return;
    }
    const ok = this.deps.verify(user, parsePassword(message.body));
    this.deps.stats.authAttempt(ok);
    if (!ok) {
      this.deps.log(`proxy: password authentication failed for user "${user}"`);
      endWith(client, fatalError('28P01', `password authentication failed for user "${user}"`));
      return;
    }
    if (this.deps.faults.refusing()) {
      endWith(client, fatalError('57P03', 'the database system is starting up'));
      return;
    }
    if (this.deps.faults.suspended) {
      this.deps.log(`proxy: holding connection for "${user}" until wake()`);
      await Promise.race([this.deps.faults.waitAwake(), closedPromise(client)]);
      if (client.destroyed) return;
    }
    const backend = await connect(await this.deps.backendSocket()).catch(() => undefined);
    if (!backend) {
      endWith(client, fatalError('57P03', 'the database system is starting up'));
      return;
    }
    if (client.destroyed) {
      backend.destroy();
      return;
    }
    await this.pipe(session, backend, user, packet, reader.detach());
  }

  private async pipe(
    session: Session,
    backend: net.Socket,
    user: string,
    startup: Buffer,
    rest: Buffer,
  ): Promise<void> {
    const { client } = session;
    session.backend = backend;
    backend.setNoDelay(true);
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
        backend.destroy();
        client.destroy();
        return;
      }
      if (last.type === 'K' && last.body.length >= 4) session.pid = last.body.readInt32BE(0);
      startupAnswer.push(encodeMessage(last.type, last.body));
    }
    if (last.type === 'E' && isMissingRole(last.body)) {
      this.deps.stats.authRejected();
      this.deps.log(`proxy: "${user}" has no Postgres role`);
      backend.destroy();
      endWith(client, fatalError('28P01', `password authentication failed for user "${user}"`));
      return;
    }
    session.role = user;
    this.deps.stats.connectionOpened(user);
    backend.on('close', () => {
      client.end();
      setTimeout(() => client.destroy(), 5000).unref();
    });
    client.write(Buffer.concat([...startupAnswer, reader.detach()]));
    backend.pipe(client);
    client.pipe(backend);
    backend.resume();
    this.deps.log(`proxy: "${user}" connected`);
  }

  private async forwardCancel(packet: Buffer): Promise<void> {
    const backend = await connect(await this.deps.backendSocket()).catch(() => undefined);
    if (!backend) return;
    backend.on('error', () => undefined);
    backend.end(packet);
  }
}

const ADMIN_SHUTDOWN = 'terminating connection due to administrator command';

function endWith(socket: net.Socket, data: Buffer): void {
  if (socket.destroyed) return;
  socket.end(data);
  setTimeout(() => socket.destroy(), 2000).unref();
}

function closedPromise(socket: net.Socket): Promise<void> {
  if (socket.destroyed) return Promise.resolve();
  return new Promise((resolve) => socket.once('close', () => resolve()));
}

function connect(socketPath: string): Promise<net.Socket> {
  return new Promise((resolve, reject) => {
    const socket = net.connect(socketPath);
    socket.once('connect', () => {
      socket.off('error', reject);
      resolve(socket);
    });
    socket.once('error', reject);
  });
}
