/**
 * P5 (child side): a tiny `node:http` app on our kit — `GET /sp` runs on the service
 * principal's pool, `GET /me` runs `asUser(req)` — with telemetry on.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { createLakebase } from '@lakebase-kit/core';

const SQL = 'select current_user as me';

export interface RunningServer {
  port: number;
  close(): Promise<void>;
}

export async function startServer(): Promise<RunningServer> {
  const lakebase = createLakebase();
  const server = http.createServer((req, res) => {
    const route = req.url?.split('?')[0];
    let work: Promise<{ rows: { me: string }[] }>;
    try {
      if (route === '/sp') work = lakebase.query<{ me: string }>(SQL);
      else if (route === '/me') work = lakebase.asUser(req).query<{ me: string }>(SQL);
      else {
        res.writeHead(404).end();
        return;
      }
    } catch {
      res.writeHead(401).end();
      return;
    }
    work.then(
      ({ rows }) => {
        res.writeHead(200, { 'content-type': 'application/json' });
        res.end(JSON.stringify({ me: rows[0]?.me }));
      },
      () => res.writeHead(500).end(),
    );
  });
  server.keepAliveTimeout = 30_000;
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    port: (server.address() as AddressInfo).port,
    async close() {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      await lakebase.close();
    },
  };
}
