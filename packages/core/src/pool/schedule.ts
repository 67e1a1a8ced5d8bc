/**
 * The schedule maths, as pure functions of an injected clock reading and random source: when a
 * token is refreshed, whether it may still be handed out, and how long to back off after a
 * failure. No state, no timers.
 */

/** When a token was fetched and when it stops being accepted (epoch ms). */
export interface TokenTimes {
  fetchedAt: number;
  expiresAt: number;
}

/** Longest margin kept before expiry when handing a token out for a new login. */
const MAX_EXPIRY_MARGIN_MS = 5000;

/** The token's lifetime in ms, or NaN when it is not a positive finite number. */
function lifetime(times: TokenTimes): number {
  const ms = times.expiresAt - times.fetchedAt;
  return Number.isFinite(ms) && ms > 0 ? ms : Number.NaN;
}

/**
 * True while the token may be handed out for a new login: before expiry minus a margin of
 * min(5 s, 10 % of its lifetime), so that a login never races the expiry.
 */
export function isUsable(times: TokenTimes, now: number): boolean {
  const life = lifetime(times);
  if (Number.isNaN(life)) return false;
  return now < times.expiresAt - Math.min(MAX_EXPIRY_MARGIN_MS, life / 10);
}

/**
 * When the token should be refreshed: `expiresAt − bufferMs`, or at half-life when the buffer
 * does not fit twice in the lifetime (very short tokens). A token with no usable lifetime is
 * due at once (its fetch time).
 */
export function refreshAt(times: TokenTimes, bufferMs: number): number {
  const life = lifetime(times);
  if (Number.isNaN(life)) return times.fetchedAt;
  return bufferMs * 2 > life ? times.fetchedAt + life / 2 : times.expiresAt - bufferMs;
}

/** How long from `now` until the refresh, never sooner than `floorMs` (nor NaN, nor past). */
export function refreshDelay(
  times: TokenTimes,
  now: number,
  bufferMs: number,
  floorMs: number,
): number {
  const delay = refreshAt(times, bufferMs) - now;
  return Number.isFinite(delay) ? Math.max(floorMs, delay) : floorMs;
}

export interface BackoffPolicy {
  /** Delay before the first retry. */
  baseMs: number;
  /** Longest delay. */
  maxMs: number;
  /** Shortest delay, after jitter. */
  floorMs: number;
}

/**
 * Jittered exponential backoff for the `attempt`-th failure in a row (1-based):
 * min(max, base·2^(attempt−1)) × a factor in [0.5, 1), never below the floor.
 */
export function backoffDelay(attempt: number, policy: BackoffPolicy, random: () => number): number {
  const exponent = Math.max(0, Math.floor(attempt) - 1);
  const capped = Math.min(policy.maxMs, policy.baseMs * 2 ** exponent);
  return Math.max(policy.floorMs, capped * (0.5 + random() * 0.5));
}

/** The backoff between connect attempts while a scaled-to-zero compute wakes up. */
export const WAKE_BACKOFF: BackoffPolicy = Object.freeze({ baseMs: 100, maxMs: 2000, floorMs: 0 });

/** The backoff between credential API calls after a failure. */
export const CREDENTIAL_BACKOFF: BackoffPolicy = Object.freeze({
  baseMs: 1000,
  maxMs: 30_000,
  floorMs: 250,
});

/** True when waiting `delayMs` from `now` still leaves the attempt before `deadline`. */
export function fitsBefore(now: number, delayMs: number, deadline: number): boolean {
  return now + delayMs < deadline;
}
