/** `lb.stats()`: the main endpoint's direct door's counters and the credential API's. */
import type { LocalStats } from '../base/types.js';
import type { ProxyStats } from '../proxy/proxy-stats.js';
import type { Workspace } from '../workspace/workspace.js';

export class Counters {
  readonly #proxy: ProxyStats;
  readonly #workspace: Workspace;

  constructor(proxy: ProxyStats, workspace: Workspace) {
    this.#proxy = proxy;
    this.#workspace = workspace;
  }

  snapshot(): LocalStats {
    return {
      ...this.#workspace.calls.snapshot(),
      ...this.#proxy.snapshot(),
      heldCredentialAnswers: this.#workspace.faults.held,
    };
  }

  /** Zeroes the counters; open connections stay counted and peaks restart from them. */
  reset(): void {
    this.#workspace.calls.reset();
    this.#proxy.reset();
  }
}
