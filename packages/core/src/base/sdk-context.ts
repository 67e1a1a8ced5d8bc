/** A Databricks SDK call `Context` whose cancellation follows an `AbortSignal`. */
import { Context } from '@databricks/sdk-experimental';

export function cancellableContext(signal: AbortSignal): Context {
  const cancellationToken = {
    get isCancellationRequested() {
      return signal.aborted;
    },
    onCancellationRequested(fn: (e?: unknown) => unknown) {
      signal.addEventListener('abort', () => fn(), { once: true });
    },
  };
  // biome-ignore lint/suspicious/noExplicitAny: the SDK's CancellationToken type is not exported
  return new Context({ cancellationToken: cancellationToken as any });
}

/** `promise`, rejected with the signal's reason as soon as `signal` aborts. */
export function abortable<T>(promise: Promise<T>, signal: AbortSignal): Promise<T> {
  if (signal.aborted) return Promise.reject(signal.reason);
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => reject(signal.reason);
    signal.addEventListener('abort', onAbort, { once: true });
    promise.then(
      (value) => {
        signal.removeEventListener('abort', onAbort);
        resolve(value);
      },
      (error: unknown) => {
        signal.removeEventListener('abort', onAbort);
        reject(error);
      },
    );
  });
}
