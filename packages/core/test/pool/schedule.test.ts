import { describe, expect, it } from 'vitest';
import {
  backoffDelay,
  CREDENTIAL_BACKOFF,
  fitsBefore,
  isUsable,
  refreshAt,
  refreshDelay,
  WAKE_BACKOFF,
} from '../../src/pool/schedule.js';

const HOUR = 3_600_000;

describe('schedule (pure functions of a clock reading and a random source)', () => {
  it('refreshes at expiry minus the buffer, or at half-life for short tokens', () => {
    expect(refreshAt({ fetchedAt: 0, expiresAt: HOUR }, 120_000)).toBe(HOUR - 120_000);
    expect(refreshAt({ fetchedAt: 1000, expiresAt: 6000 }, 120_000)).toBe(3500);
    // exactly twice the buffer still uses the buffer
    expect(refreshAt({ fetchedAt: 0, expiresAt: 240_000 }, 120_000)).toBe(120_000);
  });

  it('a token without a usable lifetime is due at once, and the delay is never NaN or below the floor', () => {
    expect(refreshAt({ fetchedAt: 500, expiresAt: Number.NaN }, 1000)).toBe(500);
    expect(refreshAt({ fetchedAt: 500, expiresAt: 100 }, 1000)).toBe(500);
    expect(refreshDelay({ fetchedAt: 0, expiresAt: Number.NaN }, 0, 1000, 250)).toBe(250);
    expect(refreshDelay({ fetchedAt: 0, expiresAt: HOUR }, HOUR, 120_000, 1000)).toBe(1000);
    expect(refreshDelay({ fetchedAt: 0, expiresAt: HOUR }, 0, 120_000, 1000)).toBe(HOUR - 120_000);
  });

  it('a token is handed out only while min(5 s, 10 % of its lifetime) is left', () => {
    const hour = { fetchedAt: 0, expiresAt: HOUR };
    expect(isUsable(hour, HOUR - 5001)).toBe(true);
    expect(isUsable(hour, HOUR - 5000)).toBe(false);
    const short = { fetchedAt: 0, expiresAt: 10_000 };
    expect(isUsable(short, 8999)).toBe(true);
    expect(isUsable(short, 9000)).toBe(false);
    expect(isUsable({ fetchedAt: 0, expiresAt: Number.NaN }, 0)).toBe(false);
  });

  it('backs off exponentially with jitter in [0.5, 1), capped, never below the floor', () => {
    const policy = { baseMs: 1000, maxMs: 30_000, floorMs: 100 };
    expect(backoffDelay(1, policy, () => 0)).toBe(500);
    expect(backoffDelay(1, policy, () => 0.999_999)).toBeCloseTo(1000, 0);
    expect(backoffDelay(3, policy, () => 0.5)).toBe(3000);
    expect(backoffDelay(20, policy, () => 0.5)).toBe(22_500);
    expect(backoffDelay(1, { baseMs: 10, maxMs: 10, floorMs: 100 }, () => 0)).toBe(100);
    expect(backoffDelay(0, policy, () => 0.5)).toBe(750); // attempt < 1 counts as the first
    expect(WAKE_BACKOFF.maxMs).toBeLessThan(CREDENTIAL_BACKOFF.maxMs);
  });

  it('fitsBefore: a wait fits only when it ends before the deadline', () => {
    expect(fitsBefore(0, 999, 1000)).toBe(true);
    expect(fitsBefore(0, 1000, 1000)).toBe(false);
    expect(fitsBefore(0, 1e9, Number.POSITIVE_INFINITY)).toBe(true);
  });
});
