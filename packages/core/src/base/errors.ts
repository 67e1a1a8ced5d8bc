/**
 * The error classes of @lakebase-kit/core, and `redactSecrets`. Every error has a stable `code`
 * and, where it maps onto HTTP, a `status`; none ever carries a token, PAT, client secret or
 * password in its message or properties. When each is thrown: see the README's error table.
 */
export class LakebaseError extends Error {
  readonly code: string;
  /** The HTTP status to answer with (each subclass narrows it). */
  readonly status: number = 500;
  constructor(code: string, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = new.target.name;
    this.code = code;
  }

  /** `status`, under the name Express, AppKit and http-errors use. */
  get statusCode(): number {
    return this.status;
  }
}

interface NamedKnob {
  option?: string;
  envVar?: string;
  cause?: unknown;
}

/** Required configuration is missing or inconsistent. Names the option and the env variable. */
export class ConfigurationError extends LakebaseError {
  readonly option: string | undefined;
  readonly envVar: string | undefined;
  override readonly status = 500 as const;
  constructor(message: string, details: NamedKnob = {}) {
    super('LAKEBASE_CONFIGURATION', message, { cause: details.cause });
    this.option = details.option;
    this.envVar = details.envVar;
  }
}

/** A value was given but is malformed (a bad endpoint path, port, sslmode, header...). */
export class ValidationError extends LakebaseError {
  readonly option: string | undefined;
  readonly envVar: string | undefined;
  override readonly status = 400 as const;
  constructor(message: string, details: NamedKnob = {}) {
    super('LAKEBASE_VALIDATION', message, { cause: details.cause });
    this.option = details.option;
    this.envVar = details.envVar;
  }
}

/** The credential API failed or answered something unusable (the service principal's side). */
export class CredentialError extends LakebaseError {
  /** The HTTP status the Databricks API answered, when there was an answer. */
  readonly apiStatus: number | undefined;
  /** Databricks `error_code` (e.g. `PERMISSION_DENIED`), when the API gave one. */
  readonly errorCode: string | undefined;
  /** True when retrying later may succeed (network errors, timeouts, 429, 5xx). */
  readonly retryable: boolean;
  /** 503 when retrying may help, else 502: the upstream Databricks API failed. */
  override readonly status: 502 | 503;
  constructor(
    message: string,
    details: { status?: number; errorCode?: string; retryable?: boolean; cause?: unknown } = {},
  ) {
    super('LAKEBASE_CREDENTIAL', message, { cause: details.cause });
    this.apiStatus = details.status;
    this.errorCode = details.errorCode;
    this.retryable = details.retryable ?? false;
    this.status = this.retryable ? 503 : 502;
  }
}

/**
 * The request's user cannot be authenticated: no token, no identity, a token that belongs to
 * someone else or that the workspace rejects (401), or a user without a Postgres role (403).
 */
export class AuthenticationError extends LakebaseError {
  override readonly status: 401 | 403;
  /** The identity the request claimed, when there was one (an email, never a token). */
  readonly identity: string | undefined;
  constructor(
    message: string,
    details: { status?: 401 | 403; identity?: string; cause?: unknown } = {},
  ) {
    super(
      details.status === 403 ? 'LAKEBASE_FORBIDDEN' : 'LAKEBASE_AUTHENTICATION',
      message,
      details.cause === undefined ? undefined : { cause: details.cause },
    );
    this.status = details.status ?? 401;
    this.identity = details.identity;
  }
}

/**
 * Postgres could not be reached (connection refused or reset, host unreachable, the compute
 * still starting) for `connectionTimeoutMillis`, retries included. Retrying later may help
 * (503); `cause` is the last network error.
 */
export class DatabaseUnavailableError extends LakebaseError {
  override readonly status = 503 as const;
  readonly retryable = true as const;
  constructor(message: string, options?: { cause?: unknown }) {
    super('LAKEBASE_UNAVAILABLE', message, options);
  }
}

/** The global user-connection budget stayed exhausted for `connectionTimeoutMillis`. */
export class PoolBudgetError extends LakebaseError {
  override readonly status = 503 as const;
  constructor(message: string, options?: { cause?: unknown }) {
    super('LAKEBASE_POOL_BUDGET', message, options);
  }
}

/** The Lakebase object (or a pool it owns) was closed, or is closing and took no new work. */
export class ClosedError extends LakebaseError {
  override readonly status = 503 as const;
  constructor(message = 'Lakebase client is closed') {
    super('LAKEBASE_CLOSED', message);
  }
}

/**
 * A pool client was used after `release()`: a released client is dead to its holder, since its
 * connection may already serve someone else. A bug in the caller (500).
 */
export class ReleasedClientError extends LakebaseError {
  override readonly status = 500 as const;
  constructor(message: string) {
    super('LAKEBASE_CLIENT_RELEASED', message);
  }
}

/** Too much verification work is waiting already: retry later (503). Nothing was queued. */
export class OverloadedError extends LakebaseError {
  override readonly status = 503 as const;
  constructor(message: string) {
    super('LAKEBASE_OVERLOADED', message);
  }
}

/**
 * A statement that needs a session of its own (`LISTEN`, a session advisory lock, SQL
 * `PREPARE`, a `WITH HOLD` cursor, a temp table, a session `SET`) was sent to Lakebase's pooled
 * host, where each transaction may run on another server connection (PgBouncer, transaction
 * mode). Nothing was sent. Run it on `lakebase.direct` (the direct host), or make it
 * transaction-scoped (`SET LOCAL`, `pg_advisory_xact_lock`). A bug in the caller (500).
 */
export class PoolerSessionError extends LakebaseError {
  override readonly status = 500 as const;
  /** What the statement would have kept in the session. */
  readonly feature: string;
  constructor(message: string, feature: string) {
    super('LAKEBASE_POOLER_SESSION', message);
    this.feature = feature;
  }
}

/**
 * The read-only endpoint had not replayed this app's last write within `read.maxWaitMs`
 * (read-your-writes). `lakebase.read.query()` and `asUser(req).read.query()` then run the read on
 * the primary instead; only a client checked out of a read pool sees this error (503, retry).
 */
export class ReplicaBehindError extends LakebaseError {
  override readonly status = 503 as const;
  readonly retryable = true as const;
  constructor(message: string) {
    super('LAKEBASE_REPLICA_BEHIND', message);
  }
}

const SECRET_PATTERNS: ReadonlyArray<[RegExp, string]> = [
  // JWTs (OAuth access tokens, OIDC id tokens)
  [/eyJ[\w-]*\.[\w-]*\.[\w-]*/g, '[redacted]'],
  // Databricks PATs (dapi…), OAuth secrets (dose…) and other prefixed Databricks secrets
  [/\b(?:dapi|dose|dkea|dsapi|doau|dsec)[0-9a-f]{16,}(?:-\d+)?\b/gi, '[redacted]'],
  // HTTP auth values
  [/\b(bearer|basic)(\s+)[^\s"',;]+/gi, '$1$2[redacted]'],
  // key=value / "key": "value" secrets, whatever their length
  [
    /("?\b(?:[\w-]*token|password|passwd|pwd|[\w-]*secret|client_secret|api[_-]?key|authorization)\b"?\s*[:=]\s*"?)[^"\s,;&}]+/gi,
    '$1[redacted]',
  ],
  // a password in a connection URL: postgresql://user:secret@host
  [/(\b[a-z][a-z0-9+.-]*:\/\/[^\s:/@]+:)[^\s@/]+@/gi, '$1[redacted]@'],
];

/**
 * Remove anything that looks like a secret from a message that came from elsewhere (an API
 * error body, a library error): JWTs, Databricks PATs and OAuth secrets, bearer values,
 * `token`/`password`/`secret` fields, URL passwords and long opaque strings. Also truncates, so
 * a whole response body never lands in a message.
 */
export function redactSecrets(text: string, maxLength = 300): string {
  let redacted = String(text);
  for (const [pattern, replacement] of SECRET_PATTERNS) {
    redacted = redacted.replace(pattern, replacement);
  }
  // A URL keeps its address (help links stay readable) but not its query or fragment;
  // any other long token-like run is redacted.
  redacted = redacted.replace(
    /(https?:\/\/[^\s?#"']+)([?#][^\s"']*)?|[A-Za-z0-9_\-+/=.~]{40,}/g,
    (match, url: string | undefined, rest: string | undefined) => {
      if (!url) return /[0-9]/.test(match) && /[A-Za-z]/.test(match) ? '[redacted]' : match;
      return `${url.replace(/[A-Za-z0-9_\-+=~]{40,}/g, '[redacted]')}${rest ? '?[redacted]' : ''}`;
    },
  );
  return redacted.length > maxLength ? `${redacted.slice(0, maxLength)}…` : redacted;
}
