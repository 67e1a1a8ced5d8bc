/**
 * One Postgres instance of the local project (the main branch's, a read replica's, a branch's)
 * and the emulator's superuser access to it. Doors wait on `backendSocket()`, which holds new
 * connections while the instance restarts (or a branch reset swaps its data).
 */
import type { Log } from '../../base/types.js';
import { Admin } from '../../postgres/admin.js';
import type { BackupSource } from '../../postgres/clone/base-backup.js';
import type { OsUser } from '../../postgres/runtime/os-user.js';
import { PostgresServer } from '../../postgres/server.js';

export interface InstanceOptions {
  /** The instance's directory (holds `pgdata/` and its socket directory `run/`). */
  root: string;
  superuserPassword: string;
  /** Trade durability for speed (temp instances). */
  fast: boolean;
  /** The app's database (the superuser pool's). */
  database: string;
  /** Server settings (the extension path, replication, recovery ...). */
  settings: Record<string, string>;
  log: Log;
}

export class Instance {
  readonly server: PostgresServer;
  readonly #options: InstanceOptions;
  #admin: Admin | undefined;
  /** Settles when Postgres is up: doors wait on it during a restart. */
  #up: Promise<void> = Promise.resolve();

  constructor(options: InstanceOptions) {
    this.#options = options;
    const { root, superuserPassword, fast, settings, log } = options;
    this.server = new PostgresServer({ root, superuserPassword, fast, settings, log });
  }

  async start(): Promise<void> {
    await this.server.start();
    this.#admin ??= new Admin(this.server, this.#options.database);
  }

  get root(): string {
    return this.#options.root;
  }

  /** The emulator's superuser access (once started). */
  get admin(): Admin {
    if (!this.#admin) throw new Error('the Postgres instance has not started');
    return this.#admin;
  }

  get osUser(): OsUser | undefined {
    return this.server.osUser;
  }

  /** What a base backup of this instance reads. */
  get backupSource(): BackupSource {
    return { pgdata: this.server.pgdata, clientConfig: (db) => this.server.clientConfig(db) };
  }

  /** Resolves once Postgres is up (waits during a restart). */
  whenUp(): Promise<void> {
    return this.#up;
  }

  /** The path of Postgres' socket once it is up. */
  async backendSocket(): Promise<string> {
    await this.#up;
    return this.server.socketPath;
  }

  /**
   * Stops and starts Postgres (same socket); `whileStopped` runs in between (a branch reset
   * replaces the data there), and `settings` replace the server settings. Connections arriving
   * meanwhile wait.
   */
  async restart(
    whileStopped?: () => Promise<void>,
    settings?: Record<string, string>,
  ): Promise<void> {
    let up!: () => void;
    this.#up = new Promise<void>((resolve) => {
      up = resolve;
    });
    try {
      await this.server.stop();
      await whileStopped?.();
      if (settings) this.server.settings = settings;
      await this.server.start();
    } finally {
      up();
    }
  }

  /** Closes the superuser pool and stops Postgres (no process left). */
  async close(): Promise<void> {
    await this.#admin?.close().catch(() => undefined);
    await this.server.close().catch(() => undefined);
  }
}
