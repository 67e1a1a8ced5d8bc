import { describe, expect, it } from 'vitest';
import { ClosedError, type Credential, CredentialError, TokenCache } from '../src/index.js';
import type { Clock } from '../src/types.js';
import { captureLogger } from './sp-support.js';

/** A manual clock: timers run only when `advance` passes their due time. */
class FakeClock implements Clock {
  time = 1_000_000;
  private seq = 0;
  timers = new Map<number, { at: number; fn: () => void }>();
  now = () => this.time;
  setTimeout = (fn: () => void, ms: number) => {
    const id = ++this.seq;
    this.timers.set(id, { at: this.time + ms, fn });
    return { id, unref: () => undefined };
  };
  clearTimeout = (handle: unknown) => {
    this.timers.delete((handle as { id: number }).id);
  };
  /** Due time of the single pending timer (the cache keeps at most one). */
  nextAt(): number | undefined {
    return [...this.timers.values()].map((t) => t.at).sort((a, b) => a - b)[0];
  }
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
      await flush();
    }
    this.time = target;
    await flush();
  }
}

const flush = async () => {
  for (let i = 0; i < 10; i++) await Promise.resolve();
};

/** A credential source answering from a script; counts calls. */
class FakeSource {
  calls = 0;
  private n = 0;
  constructor(
    private readonly clock: FakeClock,
    private readonly lifetimeMs: number,
    public fail: Error | undefined = undefined,
  ) {}
  gate: Promise<void> | undefined;
  async fetch(): Promise<Credential> {
    this.calls++;
    if (this.gate) await this.gate;
    if (this.fail) throw this.fail;
    this.n++;
    return { token: `tok-${this.n}`, expiresAt: new Date(this.clock.now() + this.lifetimeMs) };
  }
}

function setup(
  lifetimeMs = 3_600_000,
  extra: Partial<ConstructorParameters<typeof TokenCache>[0]> = {},
) {
  const clock = new FakeClock();
  const source = new FakeSource(clock, lifetimeMs);
  const log = captureLogger();
  const cache = new TokenCache({
    source,
    name: 'test identity',
    clock,
    logger: log.logger,
    random: () => 0.5,
    ...extra,
  });
  return { clock, source, cache, log };
}

describe('TokenCache', () => {
  it('single-flight: 50 concurrent callers share one fetch', async () => {
    const { source, cache } = setup();
    let open!: () => void;
    source.gate = new Promise((r) => {
      open = r;
    });
    const all = Promise.all(Array.from({ length: 50 }, () => cache.getToken()));
    await flush();
    open();
    const tokens = await all;
    expect(source.calls).toBe(1);
    expect(new Set(tokens)).toEqual(new Set(['tok-1']));
    expect(cache.stats()).toMatchObject({ misses: 50, hits: 0, refreshes: 1 });
    expect(await cache.getToken()).toBe('tok-1');
    expect(cache.stats().hits).toBe(1);
  });

  it('refreshes ahead at expiry minus the buffer, before anyone asks', async () => {
    const { clock, source, cache } = setup(3_600_000, { refreshBufferMs: 120_000 });
    expect(await cache.getToken()).toBe('tok-1');
    expect(clock.nextAt()).toBe(clock.time + 3_600_000 - 120_000);
    await clock.advance(3_600_000 - 120_000 - 1);
    expect(source.calls).toBe(1);
    await clock.advance(1);
    expect(source.calls).toBe(2);
    expect(await cache.getToken()).toBe('tok-2');
    expect(cache.stats()).toMatchObject({ misses: 1, hits: 1, refreshes: 2 });
  });

  it('uses half-life for tokens shorter than twice the buffer', async () => {
    const { clock, source, cache } = setup(5000, { refreshBufferMs: 120_000 });
    await cache.getToken();
    expect(clock.nextAt()).toBe(clock.time + 2500);
    // Continuous use across many rollovers never waits on the source.
    for (let i = 0; i < 20; i++) {
      await clock.advance(500);
      await cache.getToken();
    }
    expect(cache.stats().misses).toBe(1);
    expect(source.calls).toBeGreaterThanOrEqual(4);
  });

  it('never schedules sooner than the floor, nor on an expired or NaN expiry', async () => {
    const { clock, source, cache, log } = setup(-10_000, { minRefreshDelayMs: 1000 });
    expect(await cache.getToken()).toBe('tok-1'); // served once (clock skew), but flagged
    expect(clock.nextAt()).toBe(clock.time + 1000);
    expect(log.lines.some((l) => l.includes('already expired'))).toBe(true);

    const nan = setup(0);
    nan.source.fetch = async () => ({ token: 'x', expiresAt: new Date(Number.NaN) });
    await expect(nan.cache.getToken()).rejects.toBeInstanceOf(CredentialError);
    expect(nan.cache.peek()).toBeUndefined();
    expect(source.calls).toBe(1);
  });

  it('keeps serving a valid token when a refresh fails, retrying with jittered backoff', async () => {
    const { clock, source, cache, log } = setup(60_000, {
      refreshBufferMs: 10_000,
      backoffMs: 1000,
      minRefreshDelayMs: 100,
    });
    await cache.getToken();
    source.fail = new CredentialError('API down (HTTP 503)', { status: 503, retryable: true });
    await clock.advance(50_000); // refresh point
    expect(source.calls).toBe(2);
    expect(cache.stats().failures).toBe(1);
    // random() = 0.5 → factor 0.75: 750 ms, then 1500 ms, then 3000 ms
    expect(clock.nextAt()).toBe(clock.time + 750);
    expect(await cache.getToken()).toBe('tok-1');
    await clock.advance(750);
    expect(source.calls).toBe(3);
    expect(clock.nextAt()).toBe(clock.time + 1500);
    await clock.advance(1500);
    expect(clock.nextAt()).toBe(clock.time + 3000);
    expect(await cache.getToken()).toBe('tok-1');
    expect(cache.stats().misses).toBe(1);
    expect(log.lines.some((l) => l.includes('still serving the current token'))).toBe(true);

    source.fail = undefined;
    await clock.advance(3000);
    expect(await cache.getToken()).toBe('tok-2');
    expect(clock.nextAt()).toBe(clock.time + 50_000);
  });

  it('throws a CredentialError when no valid token is left, and recovers without restart', async () => {
    const { clock, source, cache } = setup(10_000, { refreshBufferMs: 2000 });
    await cache.getToken();
    source.fail = new CredentialError('API down (HTTP 503)', { status: 503, retryable: true });
    await clock.advance(10_000);
    const error = await cache.getToken().catch((e) => e);
    expect(error).toBeInstanceOf(CredentialError);
    expect(error.status).toBe(503);
    source.fail = undefined;
    await clock.advance(60_000); // the background retry recovers on its own
    const calls = source.calls;
    expect(await cache.getToken()).toMatch(/^tok-/);
    expect(source.calls).toBe(calls);
  });

  it('wraps foreign errors into a CredentialError without secrets', async () => {
    const { source, cache } = setup();
    source.fail = new Error('boom token=abcdefghijklmnopqrstuvwxyz0123456789ABCDEFGH');
    const error = await cache.getToken().catch((e) => e);
    expect(error).toBeInstanceOf(CredentialError);
    expect(error.message).not.toContain('abcdefghijklmnopqrstuvwxyz0123456789ABCDEFGH');
  });

  it('invalidate(token) forgets only that token', async () => {
    const { source, cache } = setup();
    expect(await cache.getToken()).toBe('tok-1');
    cache.invalidate('some-older-token');
    expect(await cache.getToken()).toBe('tok-1');
    cache.invalidate('tok-1');
    expect(cache.peek()).toBeUndefined();
    expect(await cache.getToken()).toBe('tok-2');
    cache.invalidate();
    expect(await cache.getToken()).toBe('tok-3');
    expect(source.calls).toBe(3);
    expect(cache.stats().invalidations).toBe(2);
  });

  it('lazy mode: no timer; a stale but valid token is served and refreshed in the background', async () => {
    const { clock, source, cache } = setup(60_000, {
      refreshBufferMs: 10_000,
      refreshAhead: false,
    });
    await cache.getToken();
    expect(clock.timers.size).toBe(0);
    await clock.advance(52_000); // past the refresh point (50 s), still valid (until 55 s)
    expect(source.calls).toBe(1);
    expect(await cache.getToken()).toBe('tok-1');
    await flush();
    expect(source.calls).toBe(2);
    expect(await cache.getToken()).toBe('tok-2');
    cache.setRefreshAhead(true);
    expect(clock.timers.size).toBe(1);
    cache.setRefreshAhead(false);
    expect(clock.timers.size).toBe(0);
  });

  it('lazy mode: a failed background refresh is not retried before its backoff', async () => {
    const { clock, source, cache } = setup(60_000, {
      refreshBufferMs: 10_000,
      refreshAhead: false,
      backoffMs: 1000,
      minRefreshDelayMs: 100,
    });
    await cache.getToken();
    await clock.advance(51_000);
    source.fail = new CredentialError('down', { status: 503, retryable: true });
    expect(await cache.getToken()).toBe('tok-1');
    await flush();
    expect(source.calls).toBe(2);
    expect(await cache.getToken()).toBe('tok-1'); // within the backoff (750 ms): no call
    await flush();
    expect(source.calls).toBe(2);
    await clock.advance(800);
    source.fail = undefined;
    expect(await cache.getToken()).toBe('tok-1');
    await flush();
    expect(source.calls).toBe(3);
    expect(await cache.getToken()).toBe('tok-2');
  });

  it('close() stops the timer and refuses further use', async () => {
    const { clock, cache } = setup();
    await cache.getToken();
    expect(clock.timers.size).toBe(1);
    cache.close();
    expect(clock.timers.size).toBe(0);
    await expect(cache.getToken()).rejects.toBeInstanceOf(ClosedError);
  });

  it('never logs a token', async () => {
    const { clock, source, cache, log } = setup(5000);
    await cache.getToken();
    source.fail = new CredentialError('down', { status: 500 });
    await clock.advance(4000);
    source.fail = undefined;
    await clock.advance(60_000);
    await cache.getToken();
    expect(log.lines.length).toBeGreaterThan(2);
    for (const line of log.lines) expect(line).not.toMatch(/tok-\d/);
  });
});
