/** Small socket helpers of the proxy. */
import net from 'node:net';

/** Writes `data` (an ErrorResponse), ends the socket, and destroys it if the peer lingers. */
export function endWith(socket: net.Socket, data: Buffer): void {
  if (socket.destroyed) return;
  socket.end(data);
  setTimeout(() => socket.destroy(), 2000).unref();
}

/** Resolves when `socket` has closed (at once if it has). */
export function closed(socket: net.Socket): Promise<void> {
  if (socket.destroyed) return Promise.resolve();
  return new Promise((resolve) => socket.once('close', () => resolve()));
}

/** Connects to a Unix socket. */
export function connectTo(socketPath: string): Promise<net.Socket> {
  return new Promise((resolve, reject) => {
    const socket = net.connect(socketPath);
    socket.once('connect', () => {
      socket.off('error', reject);
      resolve(socket);
    });
    socket.once('error', reject);
  });
}
