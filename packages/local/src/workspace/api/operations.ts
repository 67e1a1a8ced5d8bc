/**
 * Long-running operations, as every Lakebase API that changes something answers: `{ name,
 * done: false }` at once, then `GET /api/2.0/postgres/<name>` says `done: true` with the
 * `response`, or with an `error` (`{ error_code, message }`). An operation is named under the
 * resource it works on: `<parent>/operations/<uuid>`.
 */
import { randomUUID } from 'node:crypto';
import { BranchHistoryError } from '../../base/branch-types.js';
import { ApiError } from './api-error.js';

const MAX_OPERATIONS = 1000;

export interface OperationJson {
  name: string;
  done: boolean;
  metadata: Record<string, never>;
  response?: unknown;
  error?: { error_code: string; message: string };
}

type State =
  | { done: false }
  | { done: true; response: unknown }
  | { done: true; error: { error_code: string; message: string } };

/** An operation's error as the API reports it. */
function errorOf(error: unknown): { error_code: string; message: string } {
  if (error instanceof ApiError) return { error_code: error.errorCode, message: error.message };
  if (error instanceof BranchHistoryError) {
    return { error_code: 'INVALID_PARAMETER_VALUE', message: error.message };
  }
  const message = error instanceof Error ? error.message : String(error);
  return { error_code: 'INTERNAL_ERROR', message };
}

export class Operations {
  /** Operations by name, oldest first (at most MAX_OPERATIONS are kept). */
  readonly #states = new Map<string, State>();

  /** Records a finished operation under `parent`; answers it as just started. */
  finished(parent: string, response: unknown): OperationJson {
    return this.#add(parent, { done: true, response });
  }

  /** An operation under `parent` that is done when `work` settles. */
  running(parent: string, work: Promise<unknown>): OperationJson {
    const answer = this.#add(parent, { done: false });
    work.then(
      (response) => this.#states.set(answer.name, { done: true, response }),
      (error: unknown) => this.#states.set(answer.name, { done: true, error: errorOf(error) }),
    );
    return answer;
  }

  /** The operation `name`; undefined when unknown. */
  get(name: string): OperationJson | undefined {
    const state = this.#states.get(name);
    if (!state) return undefined;
    return { name, metadata: {}, ...state };
  }

  #add(parent: string, state: State): OperationJson {
    const name = `${parent}/operations/${randomUUID()}`;
    this.#states.set(name, state);
    while (this.#states.size > MAX_OPERATIONS) {
      this.#states.delete(this.#states.keys().next().value as string);
    }
    return { name, done: false, metadata: {} };
  }
}
