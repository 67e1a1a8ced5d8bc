/**
 * The one fake clock of the tests. Manual (the default): time moves, and timers fire, only when
 * the test advances it. Flowing (`FakeClock.flowing()`): time runs as the real clock does, and
 * `advance(ms)` jumps it forward at once, firing the timers that fall due — for tests where real
 * I/O must proceed (a login, an HTTP call) but waiting out a token's lifetime would take seconds.
 */
import type { Clock } from '../../src/base/clock.js';

const microtasks = async () => {
  for (let i = 0; i < 10; i++) await Promise.resolve();
};

interface Timer {
  at: number;
  fn: () => void;
  /** The real timer behind it (flowing mode). */
  real?: NodeJS.Timeout;
}

export class FakeClock implements Clock {
  /** Manual mode: the time. Flowing mode: how far ahead of the real clock it has jumped. */
  time: number;
  readonly #flowing: boolean;
  #seq = 0;
  readonly timers = new Map<number, Timer>();

  constructor(start = 1_000_000, flowing = false) {
    this.time = start;
    this.#flowing = flowing;
  }

  /** A clock that runs with real time, ahead of it by whatever `advance()` added. */
  static flowing(): FakeClock {
    return new FakeClock(0, true);
  }

  now = (): number => (this.#flowing ? Date.now() + this.time : this.time);

  setTimeout = (fn: () => void, ms: number) => {
    const id = ++this.#seq;
    const timer: Timer = { at: this.now() + ms, fn };
    if (this.#flowing) {
      timer.real = setTimeout(() => {
        if (this.timers.delete(id)) fn();
      }, ms);
      timer.real.unref();
    }
    this.timers.set(id, timer);
    return { id, unref: () => undefined };
  };

  clearTimeout = (handle: unknown) => {
    const id = (handle as { id?: number } | undefined)?.id;
    if (id === undefined) return;
    const timer = this.timers.get(id);
    if (timer?.real) clearTimeout(timer.real);
    this.timers.delete(id);
  };

  /** Timers not fired yet. */
  pending(): number {
    return this.timers.size;
  }

  /** Due time of the earliest pending timer. */
  nextAt(): number | undefined {
    return [...this.timers.values()].map((t) => t.at).sort((a, b) => a - b)[0];
  }

  /** Moves time forward by `ms`, firing due timers in order (with microtasks in between). */
  async advance(ms: number): Promise<void> {
    const target = this.now() + ms;
    for (;;) {
      const due = [...this.timers.entries()]
        .filter(([, t]) => t.at <= target)
        .sort((a, b) => a[1].at - b[1].at)[0];
      if (!due) break;
      const [id, timer] = due;
      if (!this.#flowing) this.time = timer.at;
      if (timer.real) clearTimeout(timer.real);
      this.timers.delete(id);
      timer.fn();
      await microtasks();
    }
    if (this.#flowing) this.time += target - this.now();
    else this.time = target;
    await microtasks();
  }
}
