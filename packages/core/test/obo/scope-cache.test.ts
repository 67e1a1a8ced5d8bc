/**
 * The scope cache's bounds (pure unit, a manual clock): at most `max` scopes, the least
 * recently used forgotten first. Recency moves at most once a second per scope, so a scope in
 * steady use must still count as recent however often it is asked for.
 */
import { describe, expect, it } from 'vitest';
import type { UserScopeImpl } from '../../src/obo/scope.js';
import { ScopeCache } from '../../src/obo/scope-cache.js';
import { FakeClock } from '../support/fake-clock.js';

/** Just what the cache touches of a scope. */
function fakeScope(identity: string) {
  const scope = { identity, isPoolEnded: false, dropped: false, drop: () => {} };
  scope.drop = () => {
    scope.dropped = true;
  };
  return scope;
}

describe('ScopeCache (pure unit)', () => {
  it('keeps a scope asked for every 500 ms while idle ones are forgotten first', async () => {
    const clock = new FakeClock(0);
    const cache = new ScopeCache({ max: 3, idleMs: 0, clock });
    const busy = fakeScope('busy@example.com');
    cache.add('busy', busy as unknown as UserScopeImpl);
    const others = Array.from({ length: 10 }, (_, i) => fakeScope(`u${i}@example.com`));
    for (const [i, other] of others.entries()) {
      await clock.advance(500);
      expect(cache.get('busy')).toBe(busy); // in steady use, more often than once a second
      cache.add(`u${i}`, other as unknown as UserScopeImpl);
    }
    expect(busy.dropped).toBe(false);
    expect(cache.get('busy')).toBe(busy);
    expect(cache.size).toBe(3);
    expect(others.slice(0, 8).every((o) => o.dropped)).toBe(true);
    expect(others.slice(8).some((o) => o.dropped)).toBe(false);
  });

  it('forgets the least recently used scope when full', async () => {
    const clock = new FakeClock(0);
    const cache = new ScopeCache({ max: 2, idleMs: 0, clock });
    const [a, b, c] = ['a', 'b', 'c'].map((n) => fakeScope(`${n}@example.com`));
    cache.add('a', a as unknown as UserScopeImpl);
    await clock.advance(1000);
    cache.add('b', b as unknown as UserScopeImpl);
    await clock.advance(1000);
    expect(cache.get('a')).toBe(a); // a is now the most recent
    cache.add('c', c as unknown as UserScopeImpl);
    expect(b!.dropped).toBe(true);
    expect(a!.dropped).toBe(false);
    expect(cache.get('b')).toBeUndefined();
  });
});
