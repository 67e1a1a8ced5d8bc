/** Switchable faults of the credential API and the proxy. */
import type { CredentialFault, MalformedMode, SuspendOptions } from './types.js';

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

export class FaultState {
  private credentialFault: ActiveCredentialFault | undefined;
  private remaining = Number.POSITIVE_INFINITY;
  private latency = 0;
  private delayed = new Set<() => void>();
  malformed: MalformedMode | null = null;
  suspended: Required<SuspendOptions> | undefined;
  private wakeWaiters: Array<() => void> = [];

  setCredentialFault(fault: CredentialFault | null): void {
    if (!fault) {
      this.credentialFault = undefined;
      return;
    }
    const status = fault.status ?? 500;
    this.credentialFault = {
      status,
      errorCode: fault.errorCode ?? DEFAULT_CODES[status] ?? 'INTERNAL_ERROR',
      message: fault.message ?? `Injected credential failure (HTTP ${status})`,
    };
    this.remaining = fault.times ?? Number.POSITIVE_INFINITY;
  }

  /** The fault to apply to this credential call, if any (consumes one of `times`). */
  takeCredentialFault(): ActiveCredentialFault | undefined {
    if (!this.credentialFault || this.remaining <= 0) return undefined;
    this.remaining--;
    const fault = this.credentialFault;
    if (this.remaining <= 0) this.credentialFault = undefined;
    return fault;
  }

  get latencyMs(): number {
    return this.latency;
  }

  /** Sets the credential latency; 0 also releases answers that are being delayed now. */
  setLatency(ms: number): void {
    this.latency = Math.max(0, ms);
    if (this.latency === 0) this.releaseDelayed();
  }

  /** Waits the current latency (released early when latency is cleared). */
  delay(): Promise<void> {
    if (this.latency <= 0) return Promise.resolve();
    return new Promise((resolve) => {
      const done = () => {
        clearTimeout(timer);
        this.delayed.delete(done);
        resolve();
      };
      const timer = setTimeout(done, this.latency);
      this.delayed.add(done);
    });
  }

  private releaseDelayed(): void {
    for (const done of [...this.delayed]) done();
  }

  /** True while suspended in `refuse` mode. */
  refusing(): boolean {
    return this.suspended?.mode === 'refuse';
  }

  /** Resolves when not suspended (immediately if awake). */
  waitAwake(): Promise<void> {
    if (!this.suspended) return Promise.resolve();
    return new Promise((resolve) => this.wakeWaiters.push(resolve));
  }

  wake(): void {
    this.suspended = undefined;
    const waiters = this.wakeWaiters;
    this.wakeWaiters = [];
    for (const resolve of waiters) resolve();
  }

  reset(): void {
    this.credentialFault = undefined;
    this.remaining = Number.POSITIVE_INFINITY;
    this.setLatency(0);
    this.malformed = null;
    this.wake();
  }
}
