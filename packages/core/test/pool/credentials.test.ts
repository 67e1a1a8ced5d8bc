import { ApiError, type WorkspaceClient } from '@databricks/sdk-experimental';
import { describe, expect, it } from 'vitest';
import {
  CredentialError,
  generateDatabaseCredential,
  RequestedClaimsPermissionSet,
  ValidationError,
} from '../../src/index.js';
import { workspaceCredentialSource } from '../../src/pool/credentials.js';

const ENDPOINT = 'projects/p1/branches/main/endpoints/primary';
const SECRET = 'lbk_ZXhhbXBsZS1zZWNyZXQtdG9rZW4tdmFsdWUtMTIzNDU2Nzg5MA';

type Answer = (options: { path: string; method: string; payload?: unknown }) => Promise<unknown>;

/** A workspace client whose apiClient.request answers from `answer` and records calls. */
function fakeClient(answer: Answer) {
  const calls: Array<{ path: string; method: string; payload?: unknown }> = [];
  const client = {
    apiClient: {
      request: (options: { path: string; method: string; payload?: unknown }) => {
        calls.push(options);
        return answer(options);
      },
    },
  } as unknown as WorkspaceClient;
  return { client, calls };
}

async function failure(answer: Answer): Promise<CredentialError> {
  const { client } = fakeClient(answer);
  const error = await generateDatabaseCredential(client, { endpoint: ENDPOINT }).catch((e) => e);
  expect(error).toBeInstanceOf(CredentialError);
  expect(`${error.message} ${error.stack} ${JSON.stringify(error)}`).not.toContain(SECRET);
  return error;
}

describe('generateDatabaseCredential', () => {
  it('posts the endpoint (and claims) and returns exactly { token, expire_time }', async () => {
    const { client, calls } = fakeClient(async () => ({
      token: SECRET,
      expire_time: '2030-01-01T00:00:00Z',
      extra: 'ignored',
    }));
    const claims = [
      {
        permission_set: RequestedClaimsPermissionSet.READ_ONLY,
        resources: [{ table_name: 'c.s.t' }],
      },
    ];
    const credential = await generateDatabaseCredential(client, { endpoint: ENDPOINT, claims });
    expect(credential).toEqual({ token: SECRET, expire_time: '2030-01-01T00:00:00Z' });
    expect(calls[0]).toMatchObject({
      path: '/api/2.0/postgres/credentials',
      method: 'POST',
      payload: { endpoint: ENDPOINT, claims },
    });
    await generateDatabaseCredential(client, { endpoint: ENDPOINT });
    expect(calls[1]?.payload).toEqual({ endpoint: ENDPOINT });
  });

  it('rejects a malformed endpoint before calling the API', async () => {
    const { client, calls } = fakeClient(async () => ({}));
    await expect(
      generateDatabaseCredential(client, { endpoint: 'projects/x' }),
    ).rejects.toBeInstanceOf(ValidationError);
    expect(calls).toHaveLength(0);
  });

  it('validates the answer strictly', async () => {
    for (const [body, what] of [
      [null, 'JSON object'],
      [[], 'JSON object'],
      [{ expire_time: '2030-01-01T00:00:00Z' }, '"token"'],
      [{ token: '', expire_time: '2030-01-01T00:00:00Z' }, '"token"'],
      [{ token: SECRET }, '"expire_time"'],
      [{ token: SECRET, expire_time: 'tomorrow' }, 'RFC 3339'],
      [{ token: SECRET, expire_time: '2030-13-45T99:00:00Z' }, 'RFC 3339'],
      [{ token: SECRET, expire_time: 1893456000 }, '"expire_time"'],
    ] as const) {
      const error = await failure(async () => body);
      expect(error.message).toContain(what);
      expect(error.message).toContain(ENDPOINT);
    }
  });

  it('maps Databricks API errors: status, error code, retryable', async () => {
    const denied = await failure(async () => {
      throw new ApiError('Not allowed to access endpoint', 'PERMISSION_DENIED', 403, {}, []);
    });
    expect(denied).toMatchObject({
      apiStatus: 403,
      errorCode: 'PERMISSION_DENIED',
      retryable: false,
      status: 502,
    });
    expect(denied.message).toContain('HTTP 403 PERMISSION_DENIED');

    const busy = await failure(async () => {
      throw new ApiError('try later', 'TEMPORARILY_UNAVAILABLE', 503, {}, []);
    });
    expect(busy).toMatchObject({ apiStatus: 503, retryable: true, status: 503 });

    const leaky = await failure(async () => {
      throw new ApiError(`bad token ${SECRET}`, 'INVALID_STATE', 400, {}, []);
    });
    expect(leaky.message).toContain('[redacted]');
  });

  it('maps network errors and unparseable bodies without copying the body', async () => {
    const net = await failure(async () => {
      throw Object.assign(new TypeError('fetch failed'), {
        cause: Object.assign(new Error('socket hang up'), { code: 'ECONNRESET' }),
      });
    });
    expect(net).toMatchObject({ retryable: true, apiStatus: undefined });
    expect(net.message).toContain('ECONNRESET');

    const notJson = await failure(async () => {
      throw new Error(`Can't parse reponse as JSON: {"token":"${SECRET}", oops`);
    });
    expect(notJson.message).toContain('not JSON');
    expect(notJson.cause).toBeUndefined();
  });

  it('times out a hanging call', async () => {
    const { client } = fakeClient(() => new Promise(() => {}));
    const error = await generateDatabaseCredential(
      client,
      { endpoint: ENDPOINT },
      { timeoutMs: 50 },
    ).catch((e) => e);
    expect(error).toBeInstanceOf(CredentialError);
    expect(error.message).toMatch(/timed out/);
  });

  it('an abort cancels the HTTP request itself and fails at once', async () => {
    let cancelled = false;
    const client = {
      apiClient: {
        request: (
          _options: unknown,
          context: { cancellationToken: { onCancellationRequested(fn: () => void): void } },
        ) => {
          context.cancellationToken.onCancellationRequested(() => {
            cancelled = true;
          });
          return new Promise(() => {});
        },
      },
    } as unknown as WorkspaceClient;
    const abort = new AbortController();
    const pending = generateDatabaseCredential(
      client,
      { endpoint: ENDPOINT },
      { signal: abort.signal, timeoutMs: 3_600_000 },
    ).catch((e) => e);
    abort.abort();
    const error = await pending;
    expect(error).toBeInstanceOf(CredentialError);
    expect(error.message).toMatch(/aborted/);
    expect(cancelled).toBe(true);
  });

  it('workspaceCredentialSource turns the answer into a Credential (lazy client)', async () => {
    let created = 0;
    const { client } = fakeClient(async () => ({
      token: SECRET,
      expire_time: '2030-01-01T00:00:00.5Z',
    }));
    const source = workspaceCredentialSource(
      () => {
        created++;
        return client;
      },
      { endpoint: ENDPOINT },
    );
    expect(created).toBe(0);
    const credential = await source.fetch();
    expect(credential.token).toBe(SECRET);
    expect(credential.expiresAt.toISOString()).toBe('2030-01-01T00:00:00.500Z');
  });
});
