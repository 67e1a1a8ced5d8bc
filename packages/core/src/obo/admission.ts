/**
 * Admission of work that has been accepted but not yet handed to a pool (a scope waiting for
 * its token to be verified): `close()` stops new work at once and resolves when the accepted
 * work has reached its pool, whose own `end()` then lets it finish.
 */
import { ClosedError } from '../base/errors.js';

export class Admission {
  #inFlight = 0;
  #closing = false;
  #drained: (() => void) | undefined;
  #closed: Promise<void> | undefined;

  get isClosing(): boolean {
    return this.#closing;
  }

  /** Admits one piece of work. @throws ClosedError after `close()`. */
  enter(): void {
    if (this.#closing) throw new ClosedError();
    this.#inFlight++;
  }

  leave(): void {
    this.#inFlight--;
    if (this.#inFlight === 0) this.#drained?.();
  }

  /** Refuses new work; resolves when the admitted work has left. Idempotent. */
  close(): Promise<void> {
    this.#closing = true;
    this.#closed ??=
      this.#inFlight === 0
        ? Promise.resolve()
        : new Promise<void>((resolve) => {
            this.#drained = resolve;
          });
    return this.#closed;
  }
}
