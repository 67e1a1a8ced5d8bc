/**
 * Request → `{ identity, token }`: reads the headers Databricks Apps forwards for the signed-in
 * user from an Express / Node `IncomingMessage`, a Fetch `Request`, a `Headers` object or a plain
 * headers object (names case-insensitive). Pure and synchronous; never echoes a token.
 */
import { ValidationError } from '../../base/errors.js';
import type { RequestLike } from '../../base/types.js';

export const ACCESS_TOKEN_HEADER = 'x-forwarded-access-token';
export const EMAIL_HEADER = 'x-forwarded-email';
export const USER_HEADER = 'x-forwarded-user';

/** Longest identity accepted (an email is at most 254 characters). */
export const MAX_IDENTITY_LENGTH = 256;
/** Longest access token accepted (Databricks OAuth tokens are a few KiB at most). */
export const MAX_TOKEN_LENGTH = 16_384;

export interface RequestIdentity {
  /** The Postgres role: `x-forwarded-email`, else `x-forwarded-user`; undefined when neither is set. */
  identity: string | undefined;
  /** Which header the identity came from. */
  identityHeader: typeof EMAIL_HEADER | typeof USER_HEADER | undefined;
  /** The forwarded Databricks access token; undefined when absent or empty. */
  token: string | undefined;
}

type HeaderGetter = (name: string) => unknown;

// biome-ignore lint/suspicious/noControlCharactersInRegex: matching control characters is the point
const CONTROL_CHARACTERS = /[\u0000-\u001f\u007f-\u009f\u2028\u2029]/;
const TOKEN_CHARACTERS = /^[\x21-\x7e]+$/;

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null;
}

function hasGet(value: unknown): value is { get(name: string): unknown } {
  return isRecord(value) && typeof (value as { get?: unknown }).get === 'function';
}

function recordGetter(headers: Record<string, unknown>): HeaderGetter {
  return (name) => {
    if (Object.hasOwn(headers, name)) return headers[name];
    for (const key of Object.keys(headers)) {
      if (key.toLowerCase() === name) return headers[key];
    }
    return undefined;
  };
}

function headerGetter(req: RequestLike): HeaderGetter {
  if (!isRecord(req)) {
    throw new ValidationError('asUser(req) expects a request or a headers object', {
      option: 'req',
    });
  }
  const headers = (req as { headers?: unknown }).headers;
  const source: unknown = isRecord(headers) ? headers : req;
  if (hasGet(source)) {
    const get = source.get.bind(source);
    return (name) => get(name) ?? undefined;
  }
  return recordGetter(source as Record<string, unknown>);
}

/** A single header value as a trimmed string; '' when absent. Rejects arrays of several values and non-strings. */
function single(get: HeaderGetter, name: string): string {
  let value = get(name);
  if (Array.isArray(value)) {
    if (value.length > 1) {
      throw new ValidationError(`Header ${name} must have a single value, got ${value.length}`, {
        option: name,
      });
    }
    value = value[0];
  }
  if (value === undefined || value === null) return '';
  if (typeof value !== 'string') {
    throw new ValidationError(`Header ${name} must be a string, got ${typeof value}`, {
      option: name,
    });
  }
  return value.trim();
}

function checkIdentity(value: string, name: string): string {
  if (value.length > MAX_IDENTITY_LENGTH) {
    throw new ValidationError(
      `Header ${name} is too long (${value.length} characters, at most ${MAX_IDENTITY_LENGTH})`,
      { option: name },
    );
  }
  if (CONTROL_CHARACTERS.test(value)) {
    throw new ValidationError(`Header ${name} contains control characters`, { option: name });
  }
  return value;
}

function checkToken(value: string): string {
  if (value.length > MAX_TOKEN_LENGTH) {
    throw new ValidationError(
      `Header ${ACCESS_TOKEN_HEADER} is too long (${value.length} characters, at most ${MAX_TOKEN_LENGTH})`,
      { option: ACCESS_TOKEN_HEADER },
    );
  }
  if (!TOKEN_CHARACTERS.test(value)) {
    throw new ValidationError(
      `Header ${ACCESS_TOKEN_HEADER} contains characters not allowed in a token`,
      { option: ACCESS_TOKEN_HEADER },
    );
  }
  return value;
}

/**
 * Reads the forwarded identity and access token of a request.
 * @throws ValidationError on a malformed header (several values, not a string, control
 *   characters, absurd length). Missing headers are not an error here; the caller decides.
 */
export function readRequestIdentity(req: RequestLike): RequestIdentity {
  const get = headerGetter(req);
  const rawToken = single(get, ACCESS_TOKEN_HEADER);
  const token = rawToken === '' ? undefined : checkToken(rawToken);
  const email = single(get, EMAIL_HEADER);
  if (email !== '') {
    return { identity: checkIdentity(email, EMAIL_HEADER), identityHeader: EMAIL_HEADER, token };
  }
  const user = single(get, USER_HEADER);
  if (user !== '') {
    return { identity: checkIdentity(user, USER_HEADER), identityHeader: USER_HEADER, token };
  }
  return { identity: undefined, identityHeader: undefined, token };
}
