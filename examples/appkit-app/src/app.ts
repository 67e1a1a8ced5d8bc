/**
 * `startAppkitApp()`: the orders app on `@databricks/appkit` —
 * `createApp({ plugins: [server(), lakebase()], onPluginsReady })` with the lakebase() plugin of
 * `@lakebase-kit/appkit`. Migrations run as the service principal in `onPluginsReady`, before
 * the server listens. On a local Lakebase, its environment goes to `process.env` (AppKit reads
 * its configuration from there).
 */
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { CacheManager, createApp, server } from '@databricks/appkit';
import { lakebase } from '@lakebase-kit/appkit';
import {
  closeServer,
  DEMO_USERS,
  type DemoUsers,
  type LakebaseSource,
  type OpenedLakebase,
  openLakebase,
  runMigrations,
  sourceFromOptions,
} from '@lakebase-kit/example-orders-app/shared';
import type { LocalLakebase } from '@lakebase-kit/local';
import { type AppKitLakebase, orderRoutes, PUBLIC_DIR } from './routes.js';

export interface AppkitAppOptions {
  /** Default: env `PORT`, then `DATABRICKS_APP_PORT`, then 8000 (AppKit's default). `0`: any. */
  port?: number;
  /** Default `127.0.0.1` on a local Lakebase; env `HOST` or `0.0.0.0` on a real one. */
  host?: string;
  /**
   * `true`: start a local Lakebase (stopped by `close()`); a `LocalLakebase`: use it (left
   * running); `false`: use `process.env` as it is. Default: `source`, else
   * `chooseLakebase({ env: process.env })`.
   */
  local?: boolean | LocalLakebase;
  /** Where the Lakebase comes from, as `chooseLakebase()` decided (`pnpm start` passes it). */
  source?: LakebaseSource;
  users?: readonly string[];
}

export interface AppkitApp {
  url: string;
  port: number;
  /** The Lakebase it runs on: which kind, its demo users (local ones), the banner lines. */
  lakebaseSource: Omit<OpenedLakebase, 'close'>;
  local?: LocalLakebase;
  /** Parts of the `AppKit` handle `createApp` returned. */
  appkit: { lakebase: AppKitLakebase; server: { getServer(): Server } };
  /**
   * Stops the HTTP server, closes the plugin's pools and AppKit's cache pool, then a local
   * Lakebase this started. (AppKit's own SIGINT/SIGTERM handler ends in `process.exit()`.)
   */
  close(): Promise<void>;
}

function boot(port: number, host: string, demo: DemoUsers | undefined) {
  return createApp({
    plugins: [
      server({ port, host, staticPath: PUBLIC_DIR }),
      lakebase({ pool: { max: 5 }, userPools: { max: 3, maxConnections: 50 } }),
    ],
    async onPluginsReady(appkit) {
      // As the service principal, so it owns app.orders; idempotent on every start.
      await runMigrations(appkit.lakebase.lakebase);
      appkit.server.extend(orderRoutes(appkit.lakebase, demo));
    },
  });
}

function listening(httpServer: Server): Promise<number> {
  const port = () => (httpServer.address() as AddressInfo).port;
  if (httpServer.listening) return Promise.resolve(port());
  return new Promise((resolve, reject) => {
    httpServer.once('listening', () => resolve(port()));
    httpServer.once('error', reject);
  });
}

export async function startAppkitApp(options: AppkitAppOptions = {}): Promise<AppkitApp> {
  const env = process.env;
  const users = options.users ?? DEMO_USERS;
  const opened = await openLakebase(
    await sourceFromOptions(options.local, options.source, env),
    users,
  );
  try {
    // AppKit reads its configuration from process.env.
    if (opened.env !== env) Object.assign(env, opened.env);
    env.DISABLE_APPKIT_INTERNAL_TELEMETRY ??= 'true';
    const port = options.port ?? Number(env.PORT ?? env.DATABRICKS_APP_PORT ?? 8000);
    const local = opened.demo !== undefined;
    const host = options.host ?? (local ? '127.0.0.1' : (env.HOST ?? '0.0.0.0'));
    const appkit = await boot(port, host, opened.demo);
    const httpServer = appkit.server.getServer();
    const boundPort = await listening(httpServer);
    const kit: AppKitLakebase = appkit.lakebase;
    let closing: Promise<void> | undefined;
    return {
      url: `http://${host === '0.0.0.0' ? 'localhost' : host}:${boundPort}/`,
      port: boundPort,
      lakebaseSource: opened,
      local: opened.local,
      appkit: { lakebase: kit, server: appkit.server },
      close: () => {
        closing ??= (async () => {
          await closeServer(httpServer);
          await kit.lakebase.close();
          // AppKit's cache keeps its own (official) Lakebase pool for persistent storage.
          await CacheManager.getInstanceSync()
            .close()
            .catch(() => {});
          await opened.close();
        })();
        return closing;
      },
    };
  } catch (error) {
    await opened.close().catch(() => {});
    throw error;
  }
}
