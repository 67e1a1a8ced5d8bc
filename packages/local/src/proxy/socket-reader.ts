/** Reads exact byte counts from a socket during the proxy handshake. */
import type net from 'node:net';

export class SocketClosedError extends Error {
  constructor() {
    super('socket closed');
  }
}

export class SocketReader {
  readonly #socket: net.Socket;
  #buffer: Buffer = Buffer.alloc(0);
  #waiter: { size: number; resolve: (b: Buffer) => void; reject: (e: Error) => void } | undefined;
  #closed = false;
  readonly #onData = (chunk: Buffer) => {
    this.#buffer = this.#buffer.length ? Buffer.concat([this.#buffer, chunk]) : chunk;
    this.#flush();
  };
  readonly #onClose = () => {
    this.#closed = true;
    this.#waiter?.reject(new SocketClosedError());
    this.#waiter = undefined;
  };

  constructor(socket: net.Socket) {
    this.#socket = socket;
    socket.on('data', this.#onData);
    socket.on('close', this.#onClose);
    socket.on('end', this.#onClose);
  }

  read(size: number): Promise<Buffer> {
    return new Promise((resolve, reject) => {
      if (this.#closed && this.#buffer.length < size) return reject(new SocketClosedError());
      this.#waiter = { size, resolve, reject };
      this.#flush();
    });
  }

  /** A length-prefixed startup-phase packet (length includes itself). */
  async readStartupPacket(): Promise<Buffer> {
    const head = await this.read(4);
    const length = head.readInt32BE(0);
    if (length < 8 || length > 10_000) throw new Error('invalid startup packet length');
    const rest = await this.read(length - 4);
    return Buffer.concat([head, rest]);
  }

  /** A typed message: `{ type, body }`. */
  async readMessage(): Promise<{ type: string; body: Buffer }> {
    const head = await this.read(5);
    const length = head.readInt32BE(1);
    if (length < 4 || length > 100_000) throw new Error('invalid message length');
    const body = await this.read(length - 4);
    return { type: String.fromCharCode(head[0]!), body };
  }

  /** Stops reading (pauses the socket) and returns any bytes already received. */
  detach(): Buffer {
    this.#socket.pause();
    this.#socket.off('data', this.#onData);
    this.#socket.off('close', this.#onClose);
    this.#socket.off('end', this.#onClose);
    const rest = this.#buffer;
    this.#buffer = Buffer.alloc(0);
    return rest;
  }

  #flush(): void {
    const waiter = this.#waiter;
    if (!waiter || this.#buffer.length < waiter.size) return;
    const out = this.#buffer.subarray(0, waiter.size);
    this.#buffer = this.#buffer.subarray(waiter.size);
    this.#waiter = undefined;
    waiter.resolve(out);
  }
}
