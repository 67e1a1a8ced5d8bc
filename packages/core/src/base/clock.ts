/**
 * Time, injected: every cache, schedule and sweep takes a `Clock`, so tests drive time with a
 * manual clock instead of sleeping. `systemClock` is the real one (timers are unref'd by their
 * users).
 */

/** Injectable time. */
export interface Clock {
  now(): number;
  setTimeout(fn: () => void, ms: number): { unref?: () => unknown } | unknown;
  clearTimeout(handle: unknown): void;
}

/** The real clock. */
export const systemClock: Clock = {
  now: () => Date.now(),
  setTimeout: (fn, ms) => setTimeout(fn, ms),
  clearTimeout: (handle) => clearTimeout(handle as NodeJS.Timeout),
};
