/**
 * One AppKit app with the sample routes (routes.ts) and ONE of the two `lakebase()` plugins,
 * chosen by env `LAKEBASE_PLUGIN` (`official`: `@databricks/appkit`'s; `ours`:
 * `@lakebase-kit/appkit`'s). Everything else is the same code. It reads its Lakebase from the
 * environment, as an app does; prints `READY <port>` once it listens. A process per app:
 * AppKit keeps process-wide singletons, and its SIGTERM handler ends the process.
 */
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createApp, lakebase as officialLakebase, server } from '@databricks/appkit';
import { lakebase as ourLakebase } from '@lakebase-kit/appkit';
import { type AppKitLike, mountRoutes, setUp } from './routes.js';

const which = process.env.LAKEBASE_PLUGIN;
if (which !== 'official' && which !== 'ours') {
  throw new Error('set LAKEBASE_PLUGIN to official or ours');
}
const lakebase = which === 'official' ? officialLakebase : ourLakebase;

const appkit = await createApp({
  plugins: [server({ port: 0, host: '127.0.0.1' }), lakebase()],
  async onPluginsReady(kit) {
    const app = kit as unknown as AppKitLike;
    await setUp(app);
    mountRoutes(app);
  },
});
const http: Server = appkit.server.getServer();
if (!http.listening) await new Promise((resolve) => http.once('listening', resolve));
console.log(`READY ${(http.address() as AddressInfo).port}`);
