/** Binds an HTTP server; a busy port is a clear error, or (when allowed) a free port instead. */
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Express } from 'express';

export class PortInUseError extends Error {
  override name = 'PortInUseError';
  constructor(
    readonly port: number,
    readonly host: string,
  ) {
    super(`Port ${port} on ${host} is already in use: set PORT to a free port (PORT=0 picks one)`);
  }
}

function bind(app: Express, port: number, host: string): Promise<Server> {
  return new Promise((resolve, reject) => {
    const server = app.listen(port, host);
    const onError = (error: NodeJS.ErrnoException) => {
      server.close();
      reject(error.code === 'EADDRINUSE' ? new PortInUseError(port, host) : error);
    };
    server.once('error', onError);
    server.once('listening', () => {
      server.off('error', onError);
      resolve(server);
    });
  });
}

export interface Listening {
  server: Server;
  port: number;
  /** Set when `port` was busy and a free one was taken instead. */
  busyPort?: number;
}

export async function listen(
  app: Express,
  { port, host, fallbackToFreePort }: { port: number; host: string; fallbackToFreePort: boolean },
): Promise<Listening> {
  try {
    const server = await bind(app, port, host);
    return { server, port: (server.address() as AddressInfo).port };
  } catch (error) {
    if (!(error instanceof PortInUseError) || !fallbackToFreePort) throw error;
    const server = await bind(app, 0, host);
    return { server, port: (server.address() as AddressInfo).port, busyPort: port };
  }
}

/** Stops accepting connections, closes idle keep-alive ones, and cuts the rest after `graceMs`. */
export function closeServer(server: Server, graceMs = 5000): Promise<void> {
  return new Promise((resolve) => {
    const force = setTimeout(() => server.closeAllConnections(), graceMs);
    force.unref();
    server.close(() => {
      clearTimeout(force);
      resolve();
    });
    server.closeIdleConnections();
  });
}
