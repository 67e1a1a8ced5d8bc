import { describe, expect, it } from 'vitest';
import { ScopedClients as ScopeCache } from '../src/adapter.js';
import type { UserScope } from '../src/obo/types.js';

describe('ScopeCache (pure unit)', () => {
  function fakeScope() {
    const listeners = new Set<() => void>();
    const scope = {
      identity: 'x@example.com',
      onClose(listener: () => void) {
        listeners.add(listener);
        return () => listeners.delete(listener);
      },
    } as unknown as UserScope;
    const close = () => {
      for (const listener of [...listeners]) listener();
    };
    return { scope, close, listeners };
  }

  it('creates once per scope object, and again after the scope closes', () => {
    let created = 0;
    const cache = new ScopeCache(() => ({ n: ++created }));
    const a = fakeScope();
    const b = fakeScope();
    const first = cache.get(a.scope);
    expect(cache.get(a.scope)).toBe(first);
    expect(cache.get(b.scope)).not.toBe(first);
    expect(created).toBe(2);

    a.close();
    expect(a.listeners.size).toBe(0);
    expect(cache.get(a.scope)).not.toBe(first);
    expect(created).toBe(3);
  });

  it('forget() drops only the client it names', () => {
    const cache = new ScopeCache(() => ({}));
    const a = fakeScope();
    const first = cache.get(a.scope);
    cache.forget(a.scope, {});
    expect(cache.get(a.scope)).toBe(first);
    cache.forget(a.scope, first);
    expect(cache.get(a.scope)).not.toBe(first);
    expect(a.listeners.size).toBe(1);
  });

  it('disposes a dropped client with onDrop', () => {
    const dropped: object[] = [];
    const cache = new ScopeCache(
      () => ({}),
      (client) => dropped.push(client),
    );
    const a = fakeScope();
    const first = cache.get(a.scope);
    a.close();
    expect(dropped).toEqual([first]);
  });
});
