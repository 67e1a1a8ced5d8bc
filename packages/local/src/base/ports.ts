/** Listening on 127.0.0.1: the proxy and the workspace API never listen elsewhere. */
import type net from 'node:net';

/** Listens on 127.0.0.1:`port` (0 = any free port) and resolves the bound port. */
export function listen(server: net.Server, port: number): Promise<number> {
  return new Promise((resolve, reject) => {
    const onError = (error: Error) => reject(error);
    server.once('error', onError);
    server.listen(port, '127.0.0.1', () => {
      server.off('error', onError);
      const address = server.address();
      resolve(typeof address === 'object' && address ? address.port : port);
    });
  });
}
