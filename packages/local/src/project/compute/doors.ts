/**
 * The project's doors: token-checking proxies, each on a loopback address of its own so that
 * every host the endpoints API names is a different one (the main endpoint's direct host is
 * 127.0.0.1, then 127.0.0.2, 127.0.0.3, ... for the pooled host, replicas, branches), each
 * with a server certificate for its address signed by the project's local CA. Where only
 * 127.0.0.1 exists (macOS without aliases), further doors fall back to it: hosts then differ
 * by port only.
 */
import type { LocalTls, Log } from '../../base/types.js';
import type { LocalCertificates } from '../../proxy/certificates.js';
import { WireProxy, type WireProxyOptions } from '../../proxy/wire-proxy.js';

export type DoorOptions = Omit<WireProxyOptions, 'tls' | 'log'>;

const PRIMARY_HOST = '127.0.0.1';

export class Doors {
  readonly #certificates: LocalCertificates | undefined;
  readonly #log: Log;
  #next = 2;
  #loopbackOnly = false;

  constructor(certificates: LocalCertificates | undefined, log: Log) {
    this.#certificates = certificates;
    this.#log = log;
  }

  /** The local CA (undefined without TLS). */
  get tls(): LocalTls | undefined {
    const certificates = this.#certificates;
    return certificates && { caFile: certificates.caFile, caPem: certificates.caPem };
  }

  /** The main endpoint's direct door: 127.0.0.1:`port` (0: a free port). */
  async openPrimary(options: DoorOptions, port: number): Promise<WireProxy> {
    const certificates = this.#certificates;
    const tls = certificates && { key: certificates.key, cert: certificates.cert };
    const proxy = new WireProxy({ ...options, log: this.#log, tls });
    await proxy.start(port, PRIMARY_HOST);
    return proxy;
  }

  /** A further door, on the next loopback address, on a free port. */
  async open(options: DoorOptions): Promise<WireProxy> {
    if (!this.#loopbackOnly) {
      const host = `127.0.0.${this.#next++}`;
      if (this.#next > 254) this.#next = 2;
      const tls = await this.#certificates?.issue(host);
      const proxy = new WireProxy({ ...options, log: this.#log, tls });
      try {
        await proxy.start(0, host);
        return proxy;
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code !== 'EADDRNOTAVAIL') throw error;
        await proxy.close();
        this.#loopbackOnly = true;
        this.#log(`proxy: ${host} is not a local address here; further hosts share 127.0.0.1`);
      }
    }
    return this.openPrimary(options, 0);
  }
}
