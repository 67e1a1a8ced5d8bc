/**
 * `startOrdersApp()`: the whole app in one call — a Lakebase (local or real), migrations as
 * the service principal, the chosen ORM, the HTTP server. Returns `{ url, close() }`.
 */
import { createLakebase, type Lakebase, type Logger } from '@lakebase-kit/core';
import type { LocalLakebase } from '@lakebase-kit/local';
import { type OpenedLakebase, openLakebase, sourceFromOptions } from './lakebase-source.js';
import { closeServer, listen } from './listen.js';
import { DEMO_USERS, runMigrations } from './migrations.js';
import type { LakebaseSource } from './mode.js';
import { createRepo } from './repos/index.js';
import type { OrmName } from './repos/types.js';
import { createOrdersServer } from './server.js';

export interface OrdersAppOptions {
  /** Default `drizzle`. */
  orm?: OrmName;
  /** Default: env `PORT`, then `DATABRICKS_APP_PORT`, then 3000. `0` picks a free port. */
  port?: number;
  /** When `port` is busy, listen on a free port instead of failing (default false). */
  fallbackToFreePort?: boolean;
  /** Default `127.0.0.1` on a local Lakebase; env `HOST` or `0.0.0.0` on a real one. */
  host?: string;
  /** The environment (default `process.env`): a real Lakebase's, or `chooseLakebase()`'s input. */
  env?: NodeJS.ProcessEnv;
  /**
   * `true`: start a local Lakebase (stopped by `close()`); a `LocalLakebase`: use it (left
   * running); `false`: use `env` as it is. Default: `source`, else `chooseLakebase({ env })`.
   */
  local?: boolean | LocalLakebase;
  /** Where the Lakebase comes from, as `chooseLakebase()` decided (`pnpm start` passes it). */
  source?: LakebaseSource;
  /** Demo users (local mode: created at start, offered by the page). Default alice and bob. */
  users?: readonly string[];
  /** Lakebase logger (default: warnings and errors to the console). */
  logger?: Logger;
}

export interface OrdersApp {
  url: string;
  port: number;
  orm: OrmName;
  /** The Lakebase it runs on: which kind, its demo users (local ones), the banner lines. */
  lakebaseSource: Omit<OpenedLakebase, 'close'>;
  /** The local Lakebase, when it lives in this process. */
  local?: LocalLakebase;
  /** The port asked for, when it was busy and `fallbackToFreePort` picked another. */
  busyPort?: number;
  lakebase: Lakebase;
  /** Stops the HTTP server, closes the pools, then stops a local Lakebase this started. */
  close(): Promise<void>;
}

function defaultPort(env: NodeJS.ProcessEnv): number {
  const raw = env.PORT ?? env.DATABRICKS_APP_PORT ?? '3000';
  const port = Number(raw);
  if (!Number.isInteger(port) || port < 0 || port > 65535) {
    throw new Error(`PORT must be a port number (0-65535), got "${raw}"`);
  }
  return port;
}

export async function startOrdersApp(options: OrdersAppOptions = {}): Promise<OrdersApp> {
  const env = options.env ?? process.env;
  const orm = options.orm ?? 'drizzle';
  const users = options.users ?? DEMO_USERS;
  const port = options.port ?? defaultPort(env);
  const opened = await openLakebase(
    await sourceFromOptions(options.local, options.source, env),
    users,
  );

  const cleanup: (() => Promise<void>)[] = [() => opened.close()];
  const runCleanup = async () => {
    for (const step of cleanup.splice(0).reverse()) await step();
  };
  const local = opened.demo !== undefined;
  try {
    const lakebase = createLakebase({
      // Local: exactly the local Lakebase's env; requests without a token get 401, as in prod.
      ...(local ? { env: opened.env, developmentFallback: false } : { env: opened.env }),
      logger: options.logger ?? { warn: true, error: true },
    });
    cleanup.push(() => lakebase.close());
    await runMigrations(lakebase);
    const repo = await createRepo(orm, lakebase);
    cleanup.push(() => repo.close());

    const app = createOrdersServer({ repo, demo: opened.demo });
    const host = options.host ?? (local ? '127.0.0.1' : (env.HOST ?? '0.0.0.0'));
    const listening = await listen(app, {
      port,
      host,
      fallbackToFreePort: options.fallbackToFreePort ?? false,
    });
    cleanup.push(() => closeServer(listening.server));
    const shownHost = host === '0.0.0.0' ? 'localhost' : host;
    let closing: Promise<void> | undefined;
    return {
      url: `http://${shownHost}:${listening.port}/`,
      port: listening.port,
      orm,
      lakebaseSource: opened,
      local: opened.local,
      busyPort: listening.busyPort,
      lakebase,
      close: () => {
        closing ??= runCleanup();
        return closing;
      },
    };
  } catch (error) {
    await runCleanup().catch(() => {});
    throw error;
  }
}
