/** Listening on loopback: the proxies and the workspace API never listen elsewhere. */
import type net from 'node:net';

/** Listens on `host`:`port` (0 = any free port; host a loopback address) and resolves the port. */
export function listen(server: net.Server, port: number, host = '127.0.0.1'): Promise<number> {
  return new Promise((resolve, reject) => {
    const onError = (error: Error) => reject(error);
    server.once('error', onError);
    server.listen(port, host, () => {
      server.off('error', onError);
      const address = server.address();
      resolve(typeof address === 'object' && address ? address.port : port);
    });
  });
}
