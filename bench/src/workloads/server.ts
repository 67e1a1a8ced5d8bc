/**
 * P5/P6 (child side): a tiny `node:http` app on our kit — `GET /sp` runs on the service
 * principal's pool, `GET /me` runs `asUser(req)` (and checks that `current_user` is the
 * requesting user), `GET /stats` tells the mismatches — with telemetry on.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { createLakebase } from '@lakebase-kit/core';
import type { ServerStats, ServerTask } from '../protocol.js';

const SQL = 'select current_user as me';

export interface RunningServer {
  port: number;
  close(): Promise<void>;
}

export async function startServer(task: ServerTask): Promise<RunningServer> {
  const lakebase = createLakebase({
    userPools: { mode: task.mode ?? 'login', maxConnections: task.budget ?? 50 },
  });
  let mismatches = 0;
  const server = http.createServer((req, res) => {
    const route = req.url?.split('?')[0];
    if (route === '/stats') {
      const stats = lakebase.stats();
      const body: ServerStats = {
        mismatches,
        userPools: stats.users.pools,
        spTotalCount: stats.sp.totalCount,
      };
      res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(body));
      return;
    }
    let work: Promise<{ rows: { me: string }[] }>;
    const expected = route === '/me' ? req.headers['x-forwarded-email'] : undefined;
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
        if (expected !== undefined && rows[0]?.me !== expected) {
          mismatches++;
          res.writeHead(500).end();
          return;
        }
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
