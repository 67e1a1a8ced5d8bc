/** The credential API's fault switches and counters, as clients of the API see them. */
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { type LocalLakebase, startLocalLakebase } from '../../src/index.js';
import { connectError, isPending, postCredentials, spAccessToken, waitFor } from '../helpers.js';

const ALICE = 'alice@example.com';
let lb: LocalLakebase;
let bearer: string;

beforeAll(async () => {
  lb = await startLocalLakebase({ users: [ALICE] });
  bearer = await spAccessToken(lb);
});
afterEach(() => {
  lb.faults.reset();
});
afterAll(async () => {
  await lb?.stop();
});

const sp = () => lb.servicePrincipal.clientId;

describe('credential faults', () => {
  it('status fault for `times` calls with a Databricks-style body, then normal again', async () => {
    lb.faults.credentials({ status: 503, times: 2 });
    for (let i = 0; i < 2; i++) {
      const response = await postCredentials(lb, bearer);
      expect(response.status).toBe(503);
      const body = (await response.json()) as { error_code: string; message: string };
      expect(body.error_code).toBe('TEMPORARILY_UNAVAILABLE');
      expect(typeof body.message).toBe('string');
    }
    expect((await postCredentials(lb, bearer)).status).toBe(200);
  });

  it('custom error code and message stay until cleared with null', async () => {
    lb.faults.credentials({ status: 403, errorCode: 'PERMISSION_DENIED', message: 'no access' });
    for (let i = 0; i < 3; i++) {
      const response = await postCredentials(lb, bearer);
      expect(response.status).toBe(403);
      expect(await response.json()).toEqual({
        error_code: 'PERMISSION_DENIED',
        message: 'no access',
      });
    }
    lb.faults.credentials(null);
    expect((await postCredentials(lb, bearer)).status).toBe(200);
  });

  it('status 0 destroys the socket (a network error)', async () => {
    lb.faults.credentials({ status: 0, times: 1 });
    await expect(postCredentials(lb, bearer)).rejects.toThrow(TypeError);
    expect((await postCredentials(lb, bearer)).status).toBe(200);
  });

  it('latency holds answers until it is cleared', async () => {
    lb.resetStats();
    lb.faults.credentialLatency(60_000);
    const answer = postCredentials(lb, bearer);
    await waitFor(() => lb.stats().heldCredentialAnswers === 1, 'the answer to be held');
    expect(lb.stats().credentialCallsTotal).toBe(1);
    expect(await isPending(answer)).toBe(true);
    lb.faults.credentialLatency(0);
    expect((await answer).status).toBe(200);
    expect(lb.stats().heldCredentialAnswers).toBe(0);
  });

  it('latency applies to every answer, including injected failures', async () => {
    lb.faults.credentialLatency(60_000);
    lb.faults.credentials({ status: 500, times: 1 });
    const answer = postCredentials(lb, bearer);
    await waitFor(() => lb.stats().heldCredentialAnswers === 1, 'the answer to be held');
    expect(await isPending(answer)).toBe(true);
    lb.faults.credentialLatency(0);
    expect((await answer).status).toBe(500);
  });

  it('malformed answers: missing-token, bad-expiry, not-json', async () => {
    lb.faults.credentialMalformed('missing-token');
    const missing = (await (await postCredentials(lb, bearer)).json()) as Record<string, unknown>;
    expect(missing.token).toBeUndefined();
    expect(typeof missing.expire_time).toBe('string');

    lb.faults.credentialMalformed('bad-expiry');
    const badExpiry = (await (await postCredentials(lb, bearer)).json()) as Record<string, string>;
    expect(typeof badExpiry.token).toBe('string');
    expect(Number.isNaN(Date.parse(badExpiry.expire_time!))).toBe(true);

    lb.faults.credentialMalformed('not-json');
    const notJson = await postCredentials(lb, bearer);
    expect(notJson.status).toBe(200);
    await expect(notJson.json()).rejects.toThrow(SyntaxError);

    lb.faults.credentialMalformed(null);
    const ok = (await (await postCredentials(lb, bearer)).json()) as Record<string, string>;
    expect(typeof ok.token).toBe('string');
  });

  it('setTokenTtl changes the lifetime of minted tokens; reset restores it', async () => {
    lb.faults.setTokenTtl(120);
    const short = (await (await postCredentials(lb, bearer)).json()) as { expire_time: string };
    const lifetime = Date.parse(short.expire_time) - Date.now();
    expect(lifetime).toBeGreaterThan(60_000);
    expect(lifetime).toBeLessThanOrEqual(120_000);
    lb.faults.setTokenTtl(-1);
    const expired = (await (await postCredentials(lb, bearer)).json()) as { token: string };
    expect((await connectError(lb, sp(), expired.token)).code).toBe('28P01');
  });

  it('counts credential calls per identity, faulted ones included', async () => {
    lb.resetStats();
    await postCredentials(lb, bearer);
    lb.faults.credentials({ status: 500, times: 1 });
    await postCredentials(lb, bearer);
    await postCredentials(lb, lb.userToken(ALICE));
    await postCredentials(lb, 'unknown-bearer');
    const stats = lb.stats();
    expect(stats.credentialCalls).toEqual({ [sp()]: 2, [ALICE]: 1 });
    expect(stats.credentialCallsTotal).toBe(3);
  });
});
