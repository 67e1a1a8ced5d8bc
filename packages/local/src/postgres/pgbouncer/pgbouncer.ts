/**
 * A real PgBouncer in front of one Postgres instance: its configuration and socket in a private
 * directory of its own (mode 0700, owned by the OS user it runs as: PgBouncer refuses to run as
 * root, so as root it runs as the OS user Postgres runs as), started in the foreground, ready
 * once it says `process up`, stopped with SIGTERM (immediate shutdown) and killed if this
 * process exits first. `pools()` reads its admin console (`SHOW POOLS`).
 */
import { type ChildProcess, spawn } from 'node:child_process';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import pg from 'pg';
import type { Log } from '../../base/types.js';
import type { OsUser } from '../runtime/os-user.js';
import {
  PGBOUNCER_PORT,
  type PgBouncerSettings,
  pgBouncerIni,
  pgBouncerUserList,
} from './config.js';

export interface PgBouncerOptions extends Omit<PgBouncerSettings, 'socketDir'> {
  /** The binary (see binary.ts). */
  binary: string;
  /**
   * A directory of its own (created, made private): its configuration, and its socket in
   * `run/` (or in a temp directory when that path is too long for a socket).
   */
  dir: string;
  /** The OS user it runs as (undefined: us). */
  runAs: OsUser | undefined;
  log: Log;
}

/** One row of `SHOW POOLS`. */
export interface PoolRow {
  database: string;
  user: string;
  cl_active: number;
  cl_waiting: number;
  sv_active: number;
  sv_idle: number;
  sv_used: number;
  sv_login: number;
  pool_mode: string;
}

/** Longest socket path (sun_path is 108 bytes on Linux, 104 on macOS). */
const MAX_SOCKET_PATH = 103;

export class PgBouncer {
  readonly #options: PgBouncerOptions;
  #process: ChildProcess | undefined;
  #exited: Promise<void> = Promise.resolve();
  #socketDir: string;
  #temporarySocketDir = false;
  readonly #killOnExit = () => this.#process?.kill('SIGKILL');

  constructor(options: PgBouncerOptions) {
    this.#options = options;
    this.#socketDir = path.join(options.dir, 'run');
  }

  /** The private directory holding its socket. */
  get socketDir(): string {
    return this.#socketDir;
  }

  get port(): number {
    return PGBOUNCER_PORT;
  }

  /** What the pooler's proxy connects to. */
  get socketPath(): string {
    return path.join(this.socketDir, `.s.PGSQL.${PGBOUNCER_PORT}`);
  }

  async start(): Promise<void> {
    const { dir, runAs, binary, log } = this.#options;
    await fs.mkdir(dir, { recursive: true, mode: 0o700 });
    if (Buffer.byteLength(`${this.socketPath}.lock`) > MAX_SOCKET_PATH) {
      this.#socketDir = await fs.mkdtemp(path.join(os.tmpdir(), 'lbk-pgb-'));
      this.#temporarySocketDir = true;
    }
    await fs.mkdir(this.socketDir, { recursive: true, mode: 0o700 });
    const ini = path.join(dir, 'pgbouncer.ini');
    await fs.writeFile(ini, pgBouncerIni({ ...this.#options, socketDir: this.socketDir }), {
      mode: 0o600,
    });
    const userList = path.join(this.socketDir, 'userlist.txt');
    await fs.writeFile(userList, pgBouncerUserList(this.#options), { mode: 0o600 });
    for (const entry of [dir, this.socketDir, ini, userList]) {
      if (entry !== ini && entry !== userList) await fs.chmod(entry, 0o700);
      if (runAs) await fs.chown(entry, runAs.uid, runAs.gid);
    }
    const child = spawn(binary, [ini], { stdio: ['ignore', 'pipe', 'pipe'], ...runAs });
    this.#process = child;
    process.once('exit', this.#killOnExit);
    this.#exited = new Promise((resolve) => child.once('exit', () => resolve()));
    const recent: string[] = [];
    await new Promise<void>((resolve, reject) => {
      const onOutput = (chunk: Buffer) => {
        for (const line of chunk.toString('utf8').split('\n').filter(Boolean)) {
          recent.push(line);
          if (recent.length > 10) recent.shift();
          log(`pgbouncer: ${line}`);
          if (line.includes('process up')) resolve();
        }
      };
      child.stdout?.on('data', onOutput);
      child.stderr?.on('data', onOutput);
      child.once('error', reject);
      child.once('exit', (code, signal) =>
        reject(
          new Error(
            `pgbouncer exited during start (${code ?? signal}): ${recent.slice(-3).join(' | ')}`,
          ),
        ),
      );
    });
  }

  /** The pools, from its admin console (over its private socket, as the superuser). */
  async pools(): Promise<PoolRow[]> {
    const client = new pg.Client({
      host: this.socketDir,
      port: PGBOUNCER_PORT,
      user: this.#options.superuser,
      database: 'pgbouncer',
      ssl: false,
    });
    client.on('error', () => undefined);
    await client.connect();
    try {
      const { rows } = await client.query<PoolRow>('SHOW POOLS');
      return rows.filter((row) => row.database !== 'pgbouncer');
    } finally {
      await client.end().catch(() => undefined);
    }
  }

  /** Immediate shutdown (SIGTERM); resolves once it has exited. */
  async stop(): Promise<void> {
    const child = this.#process;
    this.#process = undefined;
    process.off('exit', this.#killOnExit);
    if (!child) return;
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
    await this.#exited;
    if (this.#temporarySocketDir) await fs.rm(this.#socketDir, { recursive: true, force: true });
  }
}
