/**
 * The endpoint: the real Postgres (no TCP; a private Unix socket), the emulator's superuser
 * access to it, and in front of it the token-checking proxy, the only door for logins. Owns
 * scale-to-zero and restarts.
 */
import type { LocalTls, Log } from '../base/types.js';
import { Admin } from '../postgres/admin.js';
import { installExtensionFiles } from '../postgres/extension.js';
import { PostgresServer } from '../postgres/server.js';
import { createLocalCertificates, type LocalCertificates } from '../proxy/certificates.js';
import { ProxyStats } from '../proxy/proxy-stats.js';
import { type SuspendMode, Suspension } from '../proxy/suspension.js';
import { WireProxy } from '../proxy/wire-proxy.js';

export interface EndpointOptions {
  /** The instance's directory (holds `pgdata/`, the extension files, the CA). */
  root: string;
  superuserPassword: string;
  /** Trade durability for speed (temp instances). */
  fast: boolean;
  /** The app's database (the superuser pool's). */
  database: string;
  /** TLS on the proxy, with a local CA. */
  tls: boolean;
  /** True when `password` is a valid Postgres token for `user`. */
  verify(user: string, password: string): boolean;
  log: Log;
}

export class Endpoint {
  readonly suspension = new Suspension();
  readonly stats = new ProxyStats();
  readonly #options: EndpointOptions;
  #postgres: PostgresServer | undefined;
  #admin: Admin | undefined;
  #proxy: WireProxy | undefined;
  #certificates: LocalCertificates | undefined;
  /** Settles when Postgres is up: the proxy waits on it during a restart. */
  #backendReady: Promise<void> = Promise.resolve();

  constructor(options: EndpointOptions) {
    this.#options = options;
  }

  /** Starts Postgres, then the proxy on `proxyPort` (0: a free one). */
  async start(proxyPort: number): Promise<void> {
    const { root, superuserPassword, fast, database, log } = this.#options;
    const settings = await installExtensionFiles(root);
    if (this.#options.tls) this.#certificates = await createLocalCertificates(root);
    const postgres = new PostgresServer({ root, superuserPassword, fast, log, settings });
    this.#postgres = postgres;
    await postgres.start();
    const admin = new Admin(postgres, database);
    this.#admin = admin;
    const certificates = this.#certificates;
    this.#proxy = new WireProxy({
      backendSocket: async () => {
        await this.#backendReady;
        return postgres.socketPath;
      },
      verify: this.#options.verify,
      terminateBackends: (pids) => admin.terminate(pids),
      suspension: this.suspension,
      stats: this.stats,
      log,
      tls: certificates && { key: certificates.key, cert: certificates.cert },
    });
    await this.#proxy.start(proxyPort);
  }

  /** The emulator's superuser access (once started). */
  get admin(): Admin {
    if (!this.#admin) throw new Error('the endpoint has not started');
    return this.#admin;
  }

  get proxyPort(): number {
    return this.#proxy?.port ?? 0;
  }

  /** The number naming Postgres' socket (it has no TCP port). */
  get postgresPort(): number {
    return this.#postgres?.port ?? 0;
  }

  /** The local CA that signed the proxy's certificate (undefined without TLS). */
  get tls(): LocalTls | undefined {
    const certificates = this.#certificates;
    return certificates && { caFile: certificates.caFile, caPem: certificates.caPem };
  }

  /** Scale to zero: switches at once; resolves when the open connections are closed (57P01). */
  suspend(mode: SuspendMode): Promise<void> {
    this.suspension.suspend(mode);
    this.#options.log(`faults: suspended (${mode})`);
    return this.#proxy?.terminateAll() ?? Promise.resolve();
  }

  wake(): void {
    this.suspension.wake();
  }

  /** Stops and starts Postgres (same data); connections arriving meanwhile wait for it. */
  async restartPostgres(): Promise<void> {
    let ready!: () => void;
    this.#backendReady = new Promise<void>((resolve) => {
      ready = resolve;
    });
    try {
      await this.#postgres?.restart();
    } finally {
      ready();
    }
  }

  /** Closes the proxy, the superuser pool and Postgres (no process left). */
  async close(): Promise<void> {
    this.suspension.wake();
    await this.#proxy?.close().catch(() => undefined);
    await this.#admin?.close().catch(() => undefined);
    await this.#postgres?.close().catch(() => undefined);
  }
}
