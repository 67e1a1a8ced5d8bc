/**
 * The emulator's own superuser access to Postgres, over the private socket: a small pool on the
 * app's database (`lb.sql()`, the roles API, terminating backends) and short-lived clients for
 * one-off work on any database (project set-up, the role catalog's own table).
 */
import pg from 'pg';
import type { PostgresServer } from './server.js';

export type Query = (text: string, values?: unknown[]) => Promise<pg.QueryResult>;

export class Admin {
  readonly #server: PostgresServer;
  readonly #pool: pg.Pool;

  /** `server` must have started once (its socket directory is known). */
  constructor(server: PostgresServer, database: string) {
    this.#server = server;
    this.#pool = new pg.Pool({ ...server.clientConfig(database), max: 4 });
    // A backend killed by a restart: the pool drops that client and makes a new one.
    this.#pool.on('error', () => undefined);
  }

  /** One statement on the app's database. */
  readonly sql: Query = (text, values) => this.#pool.query(text, values);

  /** One statement on `database`, over a short-lived client. */
  query(database: string, text: string, values?: unknown[]): Promise<pg.QueryResult> {
    return this.#on(database, (client) => client.query(text, values));
  }

  /** Statements in order on `database`, over one short-lived client. */
  async run(database: string, statements: readonly string[]): Promise<void> {
    await this.#on(database, async (client) => {
      for (const statement of statements) await client.query(statement);
    });
  }

  /** Terminates backends by pid (`pg_terminate_backend`). */
  async terminate(pids: readonly number[]): Promise<void> {
    await this.sql('select pg_terminate_backend(pid) from unnest($1::int[]) as pid', [pids]);
  }

  close(): Promise<void> {
    return this.#pool.end();
  }

  async #on<T>(database: string, work: (client: pg.Client) => Promise<T>): Promise<T> {
    const client = new pg.Client(this.#server.clientConfig(database));
    client.on('error', () => undefined);
    await client.connect();
    try {
      return await work(client);
    } finally {
      await client.end().catch(() => undefined);
    }
  }
}
