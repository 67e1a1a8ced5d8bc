/**
 * Every endpoint of the local project, by name: what the endpoints and credential APIs read
 * (`EndpointCatalog`). Creating and removing endpoints is the business of whoever runs the
 * branches' computes (`provisioner`).
 */
import type { EndpointCatalog, EndpointRecord, EndpointType } from '../../base/endpoint-types.js';
import type { LocalEndpoint } from './local-endpoint.js';

export interface EndpointProvisioner {
  create(branch: string, endpointId: string, type: EndpointType): Promise<LocalEndpoint>;
  /** Closes the endpoint (and stops what it owns). */
  remove(endpoint: LocalEndpoint): Promise<void>;
}

export class Endpoints implements EndpointCatalog {
  readonly #byName = new Map<string, LocalEndpoint>();
  #provisioner: EndpointProvisioner | undefined;

  /** Who starts and stops computes for `create` and `remove`. */
  provisionWith(provisioner: EndpointProvisioner): void {
    this.#provisioner = provisioner;
  }

  add(endpoint: LocalEndpoint): void {
    this.#byName.set(endpoint.name, endpoint);
  }

  delete(name: string): void {
    this.#byName.delete(name);
  }

  /** The endpoint itself (not its record). */
  find(name: string): LocalEndpoint | undefined {
    return this.#byName.get(name);
  }

  /** Every endpoint of `branch`. */
  of(branch: string): LocalEndpoint[] {
    return [...this.#byName.values()].filter((endpoint) =>
      endpoint.name.startsWith(`${branch}/endpoints/`),
    );
  }

  all(): LocalEndpoint[] {
    return [...this.#byName.values()];
  }

  list(branch: string): EndpointRecord[] {
    return this.of(branch)
      .map((endpoint) => endpoint.record())
      .sort((a, b) => a.name.localeCompare(b.name));
  }

  get(name: string): EndpointRecord | undefined {
    return this.#byName.get(name)?.record();
  }

  async create(branch: string, endpointId: string, type: EndpointType): Promise<EndpointRecord> {
    if (!this.#provisioner) throw new Error('endpoints cannot be created here');
    const endpoint = await this.#provisioner.create(branch, endpointId, type);
    this.add(endpoint);
    return endpoint.record();
  }

  async remove(name: string): Promise<void> {
    const endpoint = this.#byName.get(name);
    if (!endpoint) return;
    this.#byName.delete(name);
    await (this.#provisioner?.remove(endpoint) ?? endpoint.close());
  }
}
