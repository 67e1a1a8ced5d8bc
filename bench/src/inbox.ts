/** Messages from the orchestrator after the task, as an async iterable (a tiny queue). */
export class Inbox<T> implements AsyncIterable<T> {
  private readonly queued: T[] = [];
  private waiting: ((value: IteratorResult<T>) => void) | undefined;
  private ended = false;

  push(message: T): void {
    if (this.waiting) {
      const resolve = this.waiting;
      this.waiting = undefined;
      resolve({ value: message, done: false });
    } else this.queued.push(message);
  }

  end(): void {
    this.ended = true;
    this.waiting?.({ value: undefined, done: true });
    this.waiting = undefined;
  }

  [Symbol.asyncIterator](): AsyncIterator<T> {
    return {
      next: () => {
        const message = this.queued.shift();
        if (message !== undefined) return Promise.resolve({ value: message, done: false });
        if (this.ended) return Promise.resolve({ value: undefined, done: true });
        return new Promise((resolve) => {
          this.waiting = resolve;
        });
      },
    };
  }
}
