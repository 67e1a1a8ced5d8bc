/** Scale to zero: while suspended, new connections wait for `wake()` or are refused. */

export type SuspendMode = 'delay' | 'refuse';

export class Suspension {
  #mode: SuspendMode | undefined;
  #waiters: Array<() => void> = [];

  /** The current mode; undefined while awake. */
  get mode(): SuspendMode | undefined {
    return this.#mode;
  }

  /** True while suspended in `refuse` mode. */
  get refusing(): boolean {
    return this.#mode === 'refuse';
  }

  suspend(mode: SuspendMode): void {
    this.#mode = mode;
  }

  /** Resolves when awake (at once if not suspended). */
  awake(): Promise<void> {
    if (!this.#mode) return Promise.resolve();
    return new Promise((resolve) => this.#waiters.push(resolve));
  }

  wake(): void {
    this.#mode = undefined;
    const waiters = this.#waiters;
    this.#waiters = [];
    for (const resolve of waiters) resolve();
  }
}
