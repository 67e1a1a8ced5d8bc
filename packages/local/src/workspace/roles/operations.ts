/**
 * Long-running operations: create, update and delete answer `{ name, done: false }`; the change
 * is made at once, and `GET /api/2.0/postgres/<name>` then reads `done: true` with the response.
 */
import { randomUUID } from 'node:crypto';

const MAX_OPERATIONS = 1000;

export interface OperationJson {
  name: string;
  done: boolean;
  metadata: Record<string, never>;
  response?: unknown;
}

export class Operations {
  readonly #branch: string;
  /** Finished operations by name, oldest first (at most MAX_OPERATIONS are kept). */
  readonly #responses = new Map<string, unknown>();

  constructor(branch: string) {
    this.#branch = branch;
  }

  /** Records a finished operation; answers it as just started. */
  started(response: unknown): OperationJson {
    const name = `${this.#branch}/operations/${randomUUID()}`;
    this.#responses.set(name, response);
    while (this.#responses.size > MAX_OPERATIONS) {
      this.#responses.delete(this.#responses.keys().next().value as string);
    }
    return { name, done: false, metadata: {} };
  }

  /** The operation `id` of the branch, done; undefined when unknown. */
  get(id: string): OperationJson | undefined {
    const name = `${this.#branch}/operations/${id}`;
    if (!this.#responses.has(name)) return undefined;
    return { name, done: true, metadata: {}, response: this.#responses.get(name) };
  }
}
