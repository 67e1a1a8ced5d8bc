/**
 * The only code that talks to the Databricks credential API:
 * `POST /api/2.0/postgres/credentials {endpoint, claims?}` → `{token, expire_time}`.
 * Every failure becomes a `CredentialError` with the HTTP status and Databricks error code;
 * no message ever contains a token.
 */
import type { WorkspaceClient } from '@databricks/sdk-experimental';
import { validateEndpoint } from '../base/endpoint-path.js';
import { CredentialError, redactSecrets } from '../base/errors.js';
import { abortable, cancellableContext } from '../base/sdk-context.js';
import type {
  Credential,
  CredentialSource,
  DatabaseCredential,
  GenerateDatabaseCredentialRequest,
} from '../base/types.js';

export interface CredentialCallOptions {
  /** Abort the call (the caller gives up). */
  signal?: AbortSignal;
  /** Give up after this long (default 30000). */
  timeoutMs?: number;
}

const RFC3339 = /^\d{4}-\d{2}-\d{2}[Tt ]\d{2}:\d{2}:\d{2}(?:\.\d+)?(?:[Zz]|[+-]\d{2}:\d{2})$/;

/** Validate the API answer strictly; returns exactly `{ token, expire_time }`. */
export function validateCredentialResponse(
  response: unknown,
  endpoint: string,
): DatabaseCredential {
  const invalid = (what: string) =>
    new CredentialError(
      `The Lakebase credential API returned an invalid response for endpoint ${endpoint}: ${what}`,
      { retryable: true },
    );
  if (typeof response !== 'object' || response === null || Array.isArray(response)) {
    throw invalid('expected a JSON object');
  }
  const { token, expire_time } = response as Record<string, unknown>;
  if (typeof token !== 'string' || token.length === 0) throw invalid('"token" is missing or empty');
  if (typeof expire_time !== 'string') throw invalid('"expire_time" is missing');
  if (!RFC3339.test(expire_time) || Number.isNaN(Date.parse(expire_time))) {
    throw invalid('"expire_time" is not an RFC 3339 timestamp');
  }
  return { token, expire_time };
}

interface SdkApiError {
  statusCode: number;
  errorCode?: string;
  message: string;
}

function isApiError(error: unknown): error is SdkApiError {
  return (
    error instanceof Error &&
    typeof (error as Partial<SdkApiError>).statusCode === 'number' &&
    'errorCode' in error
  );
}

const NETWORK_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'EPIPE',
  'ETIMEDOUT',
  'ENOTFOUND',
  'EAI_AGAIN',
  'EHOSTUNREACH',
  'UND_ERR_SOCKET',
  'UND_ERR_CONNECT_TIMEOUT',
  'UND_ERR_HEADERS_TIMEOUT',
]);

function networkCode(error: unknown, depth = 0): string | undefined {
  if (!error || typeof error !== 'object' || depth > 4) return undefined;
  const code = (error as { code?: unknown }).code;
  if (typeof code === 'string' && NETWORK_CODES.has(code)) return code;
  return networkCode((error as { cause?: unknown }).cause, depth + 1);
}

/** Map anything the SDK throws onto a `CredentialError` whose message is safe to log. */
export function toCredentialError(error: unknown, endpoint: string): CredentialError {
  if (error instanceof CredentialError) return error;
  const where = `for endpoint ${endpoint}`;
  if (isApiError(error)) {
    const status = error.statusCode;
    const code = error.errorCode || undefined;
    return new CredentialError(
      `The Lakebase credential API failed ${where}: HTTP ${status}${code ? ` ${code}` : ''}: ` +
        redactSecrets(error.message ?? ''),
      { status, errorCode: code, retryable: status === 429 || status >= 500 },
    );
  }
  const net = networkCode(error);
  if (net) {
    return new CredentialError(
      `Could not reach the Databricks credential API ${where} (${net}); will retry`,
      { retryable: true, cause: { code: net } },
    );
  }
  const message = error instanceof Error ? error.message : String(error);
  if (/parse (?:re?s?ponse|body) as JSON/i.test(message)) {
    // The SDK puts the whole body in this message: never copy it.
    return new CredentialError(
      `The Lakebase credential API returned a body that is not JSON ${where}`,
      { retryable: true },
    );
  }
  if (error instanceof Error && (error.name === 'AbortError' || error.name === 'TimeoutError')) {
    return new CredentialError(
      `The Lakebase credential API call ${where} timed out or was aborted`,
      {
        retryable: true,
      },
    );
  }
  if (/^Timeout:/.test(message)) {
    return new CredentialError(
      `The Lakebase credential API kept failing ${where} (SDK retries exhausted)`,
      {
        retryable: true,
      },
    );
  }
  return new CredentialError(
    `Databricks authentication or credential request failed ${where}: ${redactSecrets(message)}`,
    { retryable: false },
  );
}

/**
 * Mint a Postgres credential (a 1-hour OAuth token) for the identity of `workspaceClient`.
 * Same name and shape as `@databricks/lakebase`. The call is cancelled (the HTTP request
 * aborted) when `signal` aborts or after `timeoutMs`.
 */
export async function generateDatabaseCredential(
  workspaceClient: WorkspaceClient,
  request: GenerateDatabaseCredentialRequest,
  options: CredentialCallOptions = {},
): Promise<DatabaseCredential> {
  const endpoint = validateEndpoint(request.endpoint);
  const payload = request.claims?.length ? { endpoint, claims: request.claims } : { endpoint };
  const timeoutMs = options.timeoutMs ?? 30_000;
  const controller = new AbortController();
  const timer = setTimeout(() => controller.abort(timedOut()), timeoutMs);
  timer.unref?.();
  const onOuterAbort = () => controller.abort(aborted());
  if (options.signal?.aborted) controller.abort(aborted());
  else options.signal?.addEventListener('abort', onOuterAbort, { once: true });
  try {
    const call = workspaceClient.apiClient.request(
      {
        path: '/api/2.0/postgres/credentials',
        method: 'POST',
        headers: new Headers({ Accept: 'application/json', 'Content-Type': 'application/json' }),
        raw: false,
        payload,
      },
      cancellableContext(controller.signal),
    );
    call.catch(() => {});
    const response = await abortable(call, controller.signal);
    return validateCredentialResponse(response, endpoint);
  } catch (error) {
    throw toCredentialError(error, endpoint);
  } finally {
    clearTimeout(timer);
    options.signal?.removeEventListener('abort', onOuterAbort);
    if (!controller.signal.aborted) controller.abort(aborted());
  }
}

function timedOut(): Error {
  const error = new Error('timeout');
  error.name = 'TimeoutError';
  return error;
}

function aborted(): Error {
  const error = new Error('aborted');
  error.name = 'AbortError';
  return error;
}

/**
 * A `CredentialSource` minting tokens for the identity of a workspace client (or of a lazily
 * created one: pass a function).
 */
export function workspaceCredentialSource(
  workspaceClient: WorkspaceClient | (() => WorkspaceClient),
  request: GenerateDatabaseCredentialRequest,
  options: { timeoutMs?: number } = {},
): CredentialSource {
  const client = () =>
    typeof workspaceClient === 'function' ? workspaceClient() : workspaceClient;
  return {
    async fetch(signal?: AbortSignal): Promise<Credential> {
      const credential = await generateDatabaseCredential(client(), request, {
        signal,
        timeoutMs: options.timeoutMs,
      });
      return { token: credential.token, expiresAt: new Date(credential.expire_time) };
    },
  };
}
