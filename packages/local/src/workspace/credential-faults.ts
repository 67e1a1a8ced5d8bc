/** Switchable faults of the credential API: error answers, latency, malformed answers. */
import type { CredentialFault, MalformedMode } from '../base/types.js';

export interface ActiveCredentialFault {
  status: number;
  errorCode: string;
  message: string;
}

const DEFAULT_CODES: Record<number, string> = {
  400: 'INVALID_PARAMETER_VALUE',
  401: 'UNAUTHENTICATED',
  403: 'PERMISSION_DENIED',
  404: 'NOT_FOUND',
  409: 'RESOURCE_CONFLICT',
  429: 'REQUEST_LIMIT_EXCEEDED',
  500: 'INTERNAL_ERROR',
  502: 'BAD_GATEWAY',
  503: 'TEMPORARILY_UNAVAILABLE',
  504: 'DEADLINE_EXCEEDED',
};

export class CredentialFaults {
  #fault: ActiveCredentialFault | undefined;
  #remaining = Number.POSITIVE_INFINITY;
  #latency = 0;
  readonly #delayed = new Set<() => void>();
  malformed: MalformedMode | null = null;

  set(fault: CredentialFault | null): void {
    if (!fault) {
      this.#fault = undefined;
      return;
    }
    const status = fault.status ?? 500;
    this.#fault = {
      status,
      errorCode: fault.errorCode ?? DEFAULT_CODES[status] ?? 'INTERNAL_ERROR',
      message: fault.message ?? `Injected credential failure (HTTP ${status})`,
    };
    this.#remaining = fault.times ?? Number.POSITIVE_INFINITY;
  }

  /** The fault to apply to this credential call, if any (consumes one of `times`). */
  take(): ActiveCredentialFault | undefined {
    if (!this.#fault || this.#remaining <= 0) return undefined;
    this.#remaining--;
    const fault = this.#fault;
    if (this.#remaining <= 0) this.#fault = undefined;
    return fault;
  }

  /** Sets the latency; 0 also releases the answers being delayed now. */
  setLatency(ms: number): void {
    this.#latency = Math.max(0, ms);
    if (this.#latency === 0) for (const release of [...this.#delayed]) release();
  }

  /** Answers being delayed right now. */
  get held(): number {
    return this.#delayed.size;
  }

  /** Waits the current latency (released early when latency is cleared). */
  delay(): Promise<void> {
    if (this.#latency <= 0) return Promise.resolve();
    return new Promise((resolve) => {
      const release = () => {
        clearTimeout(timer);
        this.#delayed.delete(release);
        resolve();
      };
      const timer = setTimeout(release, this.#latency);
      this.#delayed.add(release);
    });
  }

  reset(): void {
    this.#fault = undefined;
    this.#remaining = Number.POSITIVE_INFINITY;
    this.setLatency(0);
    this.malformed = null;
  }
}
