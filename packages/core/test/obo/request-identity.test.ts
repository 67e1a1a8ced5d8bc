import { describe, expect, it } from 'vitest';
import { ValidationError } from '../../src/base/errors.js';
import { readRequestIdentity } from '../../src/obo/identity/request-identity.js';

const TOKEN = 'dapi-secret-token-value-123';

describe('readRequestIdentity', () => {
  it('reads an Express/Node request (lower-cased headers object)', () => {
    const req = {
      headers: {
        'x-forwarded-access-token': TOKEN,
        'x-forwarded-email': 'alice@example.com',
        'x-forwarded-user': '123@456',
      },
    };
    expect(readRequestIdentity(req)).toEqual({
      identity: 'alice@example.com',
      identityHeader: 'x-forwarded-email',
      token: TOKEN,
    });
  });

  it('reads a Fetch Request and a Headers object', () => {
    const headers = new Headers({
      'X-Forwarded-Access-Token': TOKEN,
      'X-Forwarded-Email': 'bob@example.com',
    });
    const req = new Request('http://localhost/', { headers });
    expect(readRequestIdentity(req as never).identity).toBe('bob@example.com');
    expect(readRequestIdentity(headers as never).token).toBe(TOKEN);
  });

  it('reads a plain headers object case-insensitively', () => {
    const result = readRequestIdentity({
      'X-Forwarded-Access-Token': TOKEN,
      'X-FORWARDED-EMAIL': 'carol@example.com',
    });
    expect(result.identity).toBe('carol@example.com');
    expect(result.token).toBe(TOKEN);
  });

  it('falls back to x-forwarded-user when there is no email', () => {
    const result = readRequestIdentity({ headers: { 'x-forwarded-user': 'svc-user' } });
    expect(result).toEqual({
      identity: 'svc-user',
      identityHeader: 'x-forwarded-user',
      token: undefined,
    });
  });

  it('treats missing and empty headers as absent', () => {
    expect(readRequestIdentity({ headers: {} })).toEqual({
      identity: undefined,
      identityHeader: undefined,
      token: undefined,
    });
    expect(
      readRequestIdentity({ 'x-forwarded-access-token': '  ', 'x-forwarded-email': '' }),
    ).toEqual({ identity: undefined, identityHeader: undefined, token: undefined });
  });

  it('accepts a one-element array and rejects several values', () => {
    expect(readRequestIdentity({ 'x-forwarded-email': ['a@example.com'] }).identity).toBe(
      'a@example.com',
    );
    expect(() =>
      readRequestIdentity({ 'x-forwarded-email': ['a@example.com', 'b@example.com'] }),
    ).toThrow(ValidationError);
  });

  it('rejects non-string values, control characters and absurd lengths', () => {
    const bad: unknown[] = [
      { 'x-forwarded-email': 42 },
      { 'x-forwarded-email': 'alice@example.com\r\nx-evil: 1' },
      { 'x-forwarded-email': 'alice\u0000@example.com' },
      { 'x-forwarded-user': `${'a'.repeat(300)}@example.com` },
      { 'x-forwarded-access-token': `${TOKEN}\nx`, 'x-forwarded-email': 'a@example.com' },
      { 'x-forwarded-access-token': 'a'.repeat(20_000), 'x-forwarded-email': 'a@example.com' },
      { 'x-forwarded-access-token': { value: TOKEN } },
    ];
    for (const headers of bad) {
      expect(() => readRequestIdentity(headers as never)).toThrow(ValidationError);
    }
  });

  it('never puts the token in an error message', () => {
    const secret = 'super-secret-token-ABC';
    try {
      readRequestIdentity({ 'x-forwarded-access-token': [secret, secret] });
      expect.unreachable();
    } catch (error) {
      expect(error).toBeInstanceOf(ValidationError);
      expect(String((error as Error).message)).not.toContain(secret);
    }
    try {
      readRequestIdentity({ 'x-forwarded-access-token': `${secret} with space` });
      expect.unreachable();
    } catch (error) {
      expect(String((error as Error).message)).not.toContain(secret);
    }
  });

  it('rejects something that is not a request', () => {
    expect(() => readRequestIdentity(null as never)).toThrow(ValidationError);
    expect(() => readRequestIdentity('x-forwarded-email' as never)).toThrow(ValidationError);
  });
});
