/** Counts authenticated credential API calls per identity (faulted ones included). */
import type { LocalStats } from '../base/types.js';

export class CredentialCalls {
  readonly #calls = new Map<string, number>();

  count(identity: string): void {
    this.#calls.set(identity, (this.#calls.get(identity) ?? 0) + 1);
  }

  snapshot(): Pick<LocalStats, 'credentialCalls' | 'credentialCallsTotal'> {
    return {
      credentialCalls: Object.fromEntries(this.#calls),
      credentialCallsTotal: [...this.#calls.values()].reduce((a, b) => a + b, 0),
    };
  }

  reset(): void {
    this.#calls.clear();
  }
}
