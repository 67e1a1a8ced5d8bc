/**
 * Low-cardinality telemetry attributes per the OpenTelemetry DB semantic conventions: the SQL
 * command keyword of a query (from a fixed list), the error type of a failure, and the
 * attribute sets of one (pool, operation), built once. Pure.
 */
import type { Attributes } from '@opentelemetry/api';
import { CredentialError } from '../base/errors.js';
import { firstKeyword } from '../base/sql-lexer.js';
import type { TelemetryNames } from '../base/types.js';

export const ATTR_POOL_NAME = 'db.client.connection.pool.name';

/** Where a pool's queries go: fixed for the pool, so their attributes are built once. */
export interface QueryTarget {
  database: string;
  host: string;
  port: number;
  poolName: string;
  /** The role the pool logs in as, for the official `db.user` (the SP's; never a user's email). */
  user?: string;
}

const OPERATIONS = new Set([
  'SELECT',
  'INSERT',
  'UPDATE',
  'DELETE',
  'MERGE',
  'WITH',
  'VALUES',
  'TABLE',
  'CALL',
  'DO',
  'BEGIN',
  'START',
  'COMMIT',
  'ROLLBACK',
  'SAVEPOINT',
  'RELEASE',
  'PREPARE',
  'EXECUTE',
  'CREATE',
  'ALTER',
  'DROP',
  'TRUNCATE',
  'GRANT',
  'REVOKE',
  'COMMENT',
  'SET',
  'RESET',
  'SHOW',
  'EXPLAIN',
  'ANALYZE',
  'VACUUM',
  'COPY',
  'LOCK',
  'LISTEN',
  'NOTIFY',
  'UNLISTEN',
  'DECLARE',
  'FETCH',
  'CLOSE',
  'DISCARD',
  'REFRESH',
  'REINDEX',
  'CLUSTER',
]);

/** The SQL command keyword (`SELECT`), from a bounded set, or undefined. */
export function operationName(text: string | undefined): string | undefined {
  if (!text) return undefined;
  const word = firstKeyword(text);
  return OPERATIONS.has(word) ? word : undefined;
}

/** Low-cardinality error type: SQLSTATE, errno code, or the error class name. */
export function errorType(error: unknown): string {
  if (error instanceof CredentialError)
    return error.errorCode ?? (error.apiStatus ? String(error.apiStatus) : 'CredentialError');
  if (error && typeof error === 'object') {
    const code = (error as { code?: unknown }).code;
    if (typeof code === 'string' && /^[A-Z0-9_]{2,32}$/.test(code)) return code;
    const name = (error as { name?: unknown }).name;
    if (typeof name === 'string' && name !== 'Error') return name;
  }
  return '_OTHER';
}

export interface QueryShape {
  spanName: string;
  spanAttributes: Attributes;
  /** `db.client.operation.duration`'s attributes (semconv), when recorded. */
  semconvMetric: Attributes | undefined;
  /** `lakebase.query.duration`'s attributes (official), when recorded. */
  officialMetric: Attributes | undefined;
}

/** Longest statement text on an official span, and on the official metric (its own limits). */
const OFFICIAL_SPAN_TEXT = 500;
const OFFICIAL_METRIC_TEXT = 100;

/**
 * The attributes of one kind of query of a pool, built once and shared by every such query.
 * `text` is given for parameterized statements only: the text of a statement built with
 * literals could carry data, so it never goes on a span or a metric.
 */
export function queryShape(
  target: QueryTarget,
  names: TelemetryNames,
  operation: string | undefined,
  text: string | undefined,
): QueryShape {
  const official = names !== 'semconv';
  const semconv = names !== 'official';
  const span: Attributes = {};
  if (semconv) {
    span['db.system.name'] = 'postgresql';
    span['db.namespace'] = target.database;
    span['server.address'] = target.host;
    span['server.port'] = target.port;
    if (operation) span['db.operation.name'] = operation;
    if (text !== undefined) span['db.query.text'] = text;
  }
  if (official) {
    span['db.system'] = 'lakebase';
    if (target.user !== undefined) span['db.user'] = target.user;
    if (text !== undefined) span['db.statement'] = text.slice(0, OFFICIAL_SPAN_TEXT);
  }
  const semconvMetric = semconv
    ? Object.freeze({
        'db.system.name': 'postgresql',
        'db.namespace': target.database,
        'server.address': target.host,
        'server.port': target.port,
        ...(operation ? { 'db.operation.name': operation } : {}),
        [ATTR_POOL_NAME]: target.poolName,
      })
    : undefined;
  // as the official kit: one attribute (fewer to hash on every record)
  const officialMetric = official
    ? Object.freeze({
        'db.statement':
          text !== undefined ? text.slice(0, OFFICIAL_METRIC_TEXT) : (operation ?? 'unknown'),
      })
    : undefined;
  return {
    spanName: semconv
      ? operation
        ? `${operation} ${target.database}`
        : target.database
      : 'lakebase.query',
    spanAttributes: Object.freeze(span),
    semconvMetric,
    officialMetric,
  };
}

/** `error.type` and (for a SQLSTATE) `db.response.status_code` of a failed query. */
export function failureAttributes(error: unknown): Attributes {
  const failure: Attributes = { 'error.type': errorType(error) };
  const code = (error as { code?: unknown } | null)?.code;
  if (typeof code === 'string' && /^[0-9A-Z]{5}$/.test(code)) {
    failure['db.response.status_code'] = code;
  }
  return failure;
}
