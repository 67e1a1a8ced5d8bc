/**
 * Low-cardinality telemetry attributes per the OpenTelemetry DB semantic conventions: the SQL
 * command keyword of a query (from a fixed list), the error type of a failure, and the
 * attribute sets of one (pool, operation), built once. Pure.
 */
import type { Attributes } from '@opentelemetry/api';
import { CredentialError } from '../base/errors.js';
import { firstKeyword } from '../base/sql-lexer.js';

export const ATTR_POOL_NAME = 'db.client.connection.pool.name';

/** Where a pool's queries go: fixed for the pool, so their attributes are built once. */
export interface QueryTarget {
  database: string;
  host: string;
  port: number;
  poolName: string;
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
  metricAttributes: Attributes;
}

/** The attributes of one (pool target, operation): built once, shared by every such query. */
export function queryShape(target: QueryTarget, operation: string | undefined): QueryShape {
  const spanAttributes: Attributes = Object.freeze({
    'db.system.name': 'postgresql',
    'db.namespace': target.database,
    'server.address': target.host,
    'server.port': target.port,
    ...(operation ? { 'db.operation.name': operation } : {}),
  });
  return {
    spanName: operation ? `${operation} ${target.database}` : target.database,
    spanAttributes,
    metricAttributes: Object.freeze({ ...spanAttributes, [ATTR_POOL_NAME]: target.poolName }),
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
