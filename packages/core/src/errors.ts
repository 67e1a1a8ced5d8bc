/**
 * Error classes of @lakebase-kit/core. Every error has a stable `code`; none
 * ever carries a token or password in its message or properties.
 */
export class LakebaseError extends Error {
  readonly code: string;
  constructor(code: string, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = new.target.name;
    this.code = code;
  }
}

/** Required configuration is missing or inconsistent. Names the option and the env variable. */
export class ConfigurationError extends LakebaseError {
  readonly option: string | undefined;
  readonly envVar: string | undefined;
  constructor(
    message: string,
    details: { option?: string; envVar?: string; cause?: unknown } = {},
  ) {
    super('LAKEBASE_CONFIGURATION', message, { cause: details.cause });
    this.option = details.option;
    this.envVar = details.envVar;
  }
}

/** A value was given but is malformed (a bad endpoint path, port, sslmode, header...). */
export class ValidationError extends LakebaseError {
  readonly option: string | undefined;
  readonly envVar: string | undefined;
  constructor(
    message: string,
    details: { option?: string; envVar?: string; cause?: unknown } = {},
  ) {
    super('LAKEBASE_VALIDATION', message, { cause: details.cause });
    this.option = details.option;
    this.envVar = details.envVar;
  }
}

/** The credential API failed or answered something unusable. */
export class CredentialError extends LakebaseError {
  /** HTTP status of the failed call, when there was one. */
  readonly status: number | undefined;
  /** Databricks `error_code` (e.g. `PERMISSION_DENIED`), when the API gave one. */
  readonly errorCode: string | undefined;
  /** True when retrying later may succeed (network errors, 429, 5xx). */
  readonly retryable: boolean;
  constructor(
    message: string,
    details: { status?: number; errorCode?: string; retryable?: boolean; cause?: unknown } = {},
  ) {
    super('LAKEBASE_CREDENTIAL', message, { cause: details.cause });
    this.status = details.status;
    this.errorCode = details.errorCode;
    this.retryable = details.retryable ?? false;
  }
}

/** A request has no usable user identity or token (HTTP 401 semantics). */
export class AuthenticationError extends LakebaseError {
  readonly status = 401 as const;
  constructor(message: string, options?: { cause?: unknown }) {
    super('LAKEBASE_AUTHENTICATION', message, options);
  }
}

/** The global user-connection budget stayed exhausted for `connectionTimeoutMillis`. */
export class PoolBudgetError extends LakebaseError {
  readonly status = 503 as const;
  constructor(message: string, options?: { cause?: unknown }) {
    super('LAKEBASE_POOL_BUDGET', message, options);
  }
}

/** The Lakebase object (or a pool it owns) was closed. */
export class ClosedError extends LakebaseError {
  constructor(message = 'Lakebase client is closed') {
    super('LAKEBASE_CLOSED', message);
  }
}

/**
 * Remove anything that looks like a secret from a message that came from elsewhere (an API
 * error body, a library error): JWTs, bearer values, `token`/`password` JSON fields and long
 * opaque strings. Also truncates, so a whole response body never lands in a message.
 */
export function redactSecrets(text: string, maxLength = 300): string {
  const redacted = text
    .replace(/eyJ[\w-]*\.[\w-]*\.[\w-]*/g, '[redacted]')
    .replace(/(bearer\s+)\S+/gi, '$1[redacted]')
    .replace(
      /("?(?:token|password|secret|access_token)"?\s*[:=]\s*"?)[^"\s,}]{16,}/gi,
      '$1[redacted]',
    )
    // A URL keeps its address (help links stay readable) but not its query or fragment;
    // any other long token-like run is redacted.
    .replace(
      /(https?:\/\/[^\s?#"']+)([?#][^\s"']*)?|[A-Za-z0-9_\-+/=.~]{40,}/g,
      (_match, url, rest) =>
        url
          ? `${url.replace(/[A-Za-z0-9_\-+=~]{40,}/g, '[redacted]')}${rest ? '?[redacted]' : ''}`
          : '[redacted]',
    );
  return redacted.length > maxLength ? `${redacted.slice(0, maxLength)}…` : redacted;
}
