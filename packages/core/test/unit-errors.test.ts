import { describe, expect, it } from 'vitest';
import { redactSecrets } from '../src/errors.js';

describe('redactSecrets (pure unit)', () => {
  const jwt = 'eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJhbGljZSJ9.c2lnbmF0dXJlLXNpZ25hdHVyZQ';
  const opaque = `lbk_pg_${'A1b2C3d4'.repeat(6)}`;

  it('redacts JWTs, bearer values, token fields and long opaque runs', () => {
    const text = `jwt ${jwt}; Authorization: Bearer abc.def; {"token":"${'x'.repeat(20)}"}; raw ${opaque}`;
    const out = redactSecrets(text, 1000);
    expect(out).not.toContain(jwt);
    expect(out).not.toContain('abc.def');
    expect(out).not.toContain('x'.repeat(20));
    expect(out).not.toContain(opaque);
  });

  it('keeps a help URL readable, but not its query or a token-like path segment', () => {
    const help =
      'https://docs.databricks.com/en/dev-tools/auth/index.html#databricks-client-unified-authentication';
    expect(redactSecrets(`please check ${help} to configure`, 1000)).toContain(
      'https://docs.databricks.com/en/dev-tools/auth/index.html',
    );
    const withSecret = `https://host.example.com/callback?code=${opaque}&state=1`;
    const out = redactSecrets(withSecret, 1000);
    expect(out).toBe('https://host.example.com/callback?[redacted]');
    expect(redactSecrets(`https://host.example.com/t/${opaque}/x`, 1000)).not.toContain(opaque);
  });
});
