import { describe, expect, it } from 'vitest';
import {
  AuthenticationError,
  ConfigurationError,
  type LakebaseError,
  PoolBudgetError,
  redactSecrets,
} from '../../src/base/errors.js';
import { errorResponse, lakebaseErrorHandler } from '../../src/base/http-errors.js';

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

  it('redacts Databricks PATs, OAuth secrets, client secrets and URL passwords, whatever their length', () => {
    const pat = `dapi${'0123456789abcdef'.repeat(2)}`;
    const patWithSuffix = `dapi${'fedcba9876543210'.repeat(2)}-2`;
    const oauthSecret = `dose${'a1b2c3d4'.repeat(6)}`;
    const shortSecret = 'xY9-shh';
    const text = [
      `PAT ${pat} and ${patWithSuffix}`,
      `client secret ${oauthSecret}`,
      `{"client_secret": "${shortSecret}"}`,
      `DATABRICKS_CLIENT_SECRET=${shortSecret}`,
      `refresh_token=${shortSecret}&x=1`,
      'postgresql://sp:pw-123@ep.example.com/db',
      `Authorization: Basic ${shortSecret}`,
    ].join('; ');
    const out = redactSecrets(text, 10_000);
    for (const secret of [pat, patWithSuffix, oauthSecret, shortSecret, 'pw-123']) {
      expect(out).not.toContain(secret);
    }
    expect(out).toContain('ep.example.com/db');
  });

  it('keeps ordinary words, UUIDs and error codes readable', () => {
    const text =
      'HTTP 403 PERMISSION_DENIED for role 6f1c2d3e-1111-2222-3333-444455556666 on projects/p/branches/main';
    expect(redactSecrets(text, 1000)).toBe(text);
  });
});

describe('errors as HTTP answers (pure unit)', () => {
  it('every error declares status and its statusCode alias', () => {
    const errors: LakebaseError[] = [
      new AuthenticationError('no token'),
      new AuthenticationError('no role', { status: 403 }),
      new PoolBudgetError('full'),
      new ConfigurationError('missing'),
    ];
    expect(errors.map((e) => [e.status, e.statusCode])).toEqual([
      [401, 401],
      [403, 403],
      [503, 503],
      [500, 500],
    ]);
  });

  it("errorResponse: the kit's status and code, a plain 500 for anything else", () => {
    expect(errorResponse(new PoolBudgetError('busy'))).toEqual({
      status: 503,
      body: { error: { code: 'LAKEBASE_POOL_BUDGET', message: 'busy' } },
    });
    expect(errorResponse(new Error('secret detail'))).toEqual({
      status: 500,
      body: { error: { code: 'INTERNAL', message: 'Internal server error' } },
    });
  });

  it("lakebaseErrorHandler answers the kit's errors and passes the others on", () => {
    const sent: unknown[] = [];
    const res = {
      status: (code: number) => ({ json: (body: unknown) => sent.push([code, body]) }),
    };
    const passed: unknown[] = [];
    const handler = lakebaseErrorHandler();
    handler(new AuthenticationError('who?'), {}, res, (e) => passed.push(e));
    const other = new Error('boom');
    handler(other, {}, res, (e) => passed.push(e));
    expect(sent).toEqual([[401, { error: { code: 'LAKEBASE_AUTHENTICATION', message: 'who?' } }]]);
    expect(passed).toEqual([other]);
  });
});
