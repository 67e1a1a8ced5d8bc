import { describe, expect, it } from 'vitest';
import { AuthenticationError, ClosedError, CredentialError } from '../../src/base/errors.js';
import type { Credential } from '../../src/base/types.js';
import { TokenCache } from '../../src/pool/token-cache.js';
import { FakeClock } from '../support/fake-clock.js';
import { captureLogger } from '../support/sp-support.js';

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
  signals: Array<AbortSignal | undefined> = [];
  /** Fails this many calls with a retryable 503, then answers. */
  transientFailures = 0;
  async fetch(signal?: AbortSignal): Promise<Credential> {
    this.calls++;
    this.signals.push(signal);
    if (this.gate) {
      await Promise.race([
        this.gate,
        new Promise((_, reject) =>
          signal?.addEventListener('abort', () => reject(new Error('aborted')), { once: true }),
        ),
      ]);
    }
    if (this.transientFailures > 0) {
      this.transientFailures--;
      throw new CredentialError('API busy (HTTP 503)', { status: 503, retryable: true });
    }
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
    const unusable = nan.cache.getToken().catch((e) => e);
    await nan.clock.advance(10_000); // retried (it is retryable) until the deadline
    expect(await unusable).toBeInstanceOf(CredentialError);
    expect(nan.cache.peek()).toBeUndefined();
    expect(source.calls).toBe(1);
  });

  it('keeps serving a valid token when a refresh fails, retrying with jittered backoff', async () => {
    const { clock, source, cache, log } = setup(60_000, {
      refreshBufferMs: 10_000,
      backoff: { baseMs: 1000, floorMs: 100 },
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

  it('throws a CredentialError when no valid token is left by the deadline, and recovers without restart', async () => {
    const { clock, source, cache } = setup(10_000, { refreshBufferMs: 2000 });
    await cache.getToken();
    source.fail = new CredentialError('API down (HTTP 503)', { status: 503, retryable: true });
    await clock.advance(10_000);
    // retried with backoff until the caller's deadline (default 10 s), then the last failure
    const pending = cache.getToken().catch((e) => e);
    await clock.advance(10_000);
    const error = await pending;
    expect(error).toBeInstanceOf(CredentialError);
    expect(error.apiStatus).toBe(503);
    expect(error.message).toContain('API down');
    source.fail = undefined;
    await clock.advance(60_000); // the background retry recovers on its own
    const calls = source.calls;
    expect(await cache.getToken()).toMatch(/^tok-/);
    expect(source.calls).toBe(calls);
  });

  it('retries a transient failure at cold start within the deadline: one 503 fails nothing', async () => {
    const { clock, source, cache } = setup();
    source.transientFailures = 1;
    const pending = cache.getToken(clock.now() + 10_000);
    await flush();
    expect(source.calls).toBe(1);
    await clock.advance(1000); // the backoff (750 ms with random() = 0.5)
    expect(await pending).toBe('tok-1');
    expect(source.calls).toBe(2);
  });

  it('a caller whose deadline passes while the API hangs gets a CredentialError; the fetch goes on', async () => {
    const { clock, source, cache } = setup();
    let open!: () => void;
    source.gate = new Promise((r) => {
      open = r;
    });
    const early = cache.getToken(clock.now() + 2000).catch((e) => e);
    const late = cache.getToken(clock.now() + 60_000);
    await clock.advance(2000);
    const error = await early;
    expect(error).toBeInstanceOf(CredentialError);
    expect(error.retryable).toBe(true);
    expect(error.message).toContain('connect deadline');
    open();
    expect(await late).toBe('tok-1');
    expect(source.calls).toBe(1);
  });

  it('a source that refuses the identity (AuthenticationError) fails as such, not as a CredentialError', async () => {
    const { source, cache } = setup();
    source.fail = new AuthenticationError('token expired', { identity: 'alice@example.com' });
    const error = await cache.getToken().catch((e) => e);
    expect(error).toBeInstanceOf(AuthenticationError);
    expect(error.status).toBe(401);
  });

  it('close() aborts the fetch in flight: its waiters get a ClosedError at once and no timer is left', async () => {
    const { clock, source, cache } = setup();
    source.gate = new Promise(() => {}); // the API hangs
    const waiting = cache.getToken(clock.now() + 60_000).catch((e) => e);
    await flush();
    expect(source.signals[0]?.aborted).toBe(false);
    cache.close();
    expect(source.signals[0]?.aborted).toBe(true);
    expect(await waiting).toBeInstanceOf(ClosedError);
    expect(clock.timers.size).toBe(0);
  });

  it('quiesce() aborts a background refresh nobody waits for, but keeps a fetch that callers wait on', async () => {
    const background = setup(60_000, { refreshBufferMs: 10_000 });
    await background.cache.getToken();
    background.source.gate = new Promise(() => {});
    await background.clock.advance(50_000); // the refresh-ahead fetch starts and hangs
    expect(background.source.calls).toBe(2);
    background.cache.quiesce();
    expect(background.source.signals[1]?.aborted).toBe(true);
    expect(background.clock.timers.size).toBe(0);
    expect(await background.cache.getToken()).toBe('tok-1'); // still valid, still served

    const waited = setup();
    let open!: () => void;
    waited.source.gate = new Promise((r) => {
      open = r;
    });
    const pending = waited.cache.getToken();
    await flush();
    waited.cache.quiesce();
    expect(waited.source.signals[0]?.aborted).toBe(false);
    open();
    expect(await pending).toBe('tok-1');
  });

  it('wraps foreign errors into a CredentialError without secrets', async () => {
    const { clock, source, cache } = setup();
    source.fail = new Error('boom token=abcdefghijklmnopqrstuvwxyz0123456789ABCDEFGH');
    const pending = cache.getToken().catch((e) => e);
    await clock.advance(10_000);
    const error = await pending;
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
      backoff: { baseMs: 1000, floorMs: 100 },
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
    source.fail = new CredentialError('down', { status: 500, retryable: true });
    await clock.advance(4000);
    source.fail = undefined;
    await clock.advance(60_000);
    await cache.getToken();
    expect(log.lines.length).toBeGreaterThan(2);
    for (const line of log.lines) expect(line).not.toMatch(/tok-\d/);
  });
});
