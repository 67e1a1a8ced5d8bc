/** A manual clock for tests: time moves, and timers fire, only when the test advances it. */
import type { Clock } from '../../src/base/clock.js';

const microtasks = async () => {
  for (let i = 0; i < 10; i++) await Promise.resolve();
};

export class FakeClock implements Clock {
  time: number;
  private seq = 0;
  readonly timers = new Map<number, { at: number; fn: () => void }>();

  constructor(start = 1_000_000) {
    this.time = start;
  }

  now = () => this.time;

  setTimeout = (fn: () => void, ms: number) => {
    const id = ++this.seq;
    this.timers.set(id, { at: this.time + ms, fn });
    return { id, unref: () => undefined };
  };

  clearTimeout = (handle: unknown) => {
    const id = (handle as { id?: number } | undefined)?.id;
    if (id !== undefined) this.timers.delete(id);
  };

  /** Due time of the earliest pending timer. */
  nextAt(): number | undefined {
    return [...this.timers.values()].map((t) => t.at).sort((a, b) => a - b)[0];
  }

  /** Moves time forward by `ms`, firing due timers in order (with microtasks in between). */
  async advance(ms: number): Promise<void> {
    const target = this.time + ms;
    for (;;) {
      const due = [...this.timers.entries()]
        .filter(([, t]) => t.at <= target)
        .sort((a, b) => a[1].at - b[1].at)[0];
      if (!due) break;
      this.time = due[1].at;
      this.timers.delete(due[0]);
      due[1].fn();
      await microtasks();
    }
    this.time = target;
    await microtasks();
  }
}
