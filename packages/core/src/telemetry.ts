/**
 * OpenTelemetry instruments (a no-op without an SDK). Instruments are created once per meter
 * provider; pool gauges come from one batch callback summing every live pool per pool name
 * (a pool is unregistered — no longer observed nor referenced — when it ends). Attributes are low-cardinality: a pool name (`lakebase:sp`), never SQL text,
 * user names or emails on metrics.
 */
import {
  type Attributes,
  type BatchObservableCallback,
  type Counter,
  context,
  type Histogram,
  type Meter,
  type MeterProvider,
  metrics,
  type ObservableUpDownCounter,
  type Span,
  SpanKind,
  SpanStatusCode,
  type Tracer,
  trace,
} from '@opentelemetry/api';
import type pg from 'pg';
import { CredentialError } from './errors.js';

export const INSTRUMENTATION_SCOPE = '@lakebase-kit/core';
const VERSION = '0.1.0';

/** Semconv advice for durations in seconds. */
const DURATION_BUCKETS = [
  0.001, 0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.25, 0.5, 0.75, 1, 2.5, 5, 7.5, 10,
];

export const ATTR_POOL_NAME = 'db.client.connection.pool.name';

/** Where a pool's queries go: fixed for the pool, so their attributes are built once. */
export interface QueryTarget {
  database: string;
  host: string;
  port: number;
  poolName: string;
}

/** Starts the span and duration measurement of one query of a pool. */
export interface QueryTracer {
  /** `text` is recorded (as `db.query.text`, on spans) only when the query is parameterized. */
  start(text: string | undefined, parameterized: boolean): QueryRecorder;
}

/** Ends one query's span and records its duration. */
export interface QueryRecorder {
  end(error?: unknown): void;
}

export interface Telemetry {
  readonly traces: boolean;
  readonly metrics: boolean;
  /** Query spans + `db.client.operation.duration` (off when instrumentation-pg is active). */
  readonly queries: boolean;
  credentialFetch(poolName: string, seconds: number, error?: unknown): void;
  cacheLookup(poolName: string, hit: boolean): void;
  connectRetry(poolName: string, reason: 'auth' | 'wake', errorType: string): void;
  authFailure(poolName: string): void;
  connectionCreated(poolName: string, seconds: number): void;
  connectionWait(poolName: string, seconds: number): void;
  connectionTimeout(poolName: string): void;
  /** Observe the pool's connection gauges until the returned function is called. */
  registerPool(pool: pg.Pool, poolName: string): () => void;
  /** The query spans (CLIENT) and durations of one pool's connections. */
  queryTracer(target: QueryTarget): QueryTracer;
}

interface Instruments {
  meter: Meter;
  credentialDuration: Histogram;
  cacheHits: Counter;
  cacheMisses: Counter;
  connectRetries: Counter;
  authFailures: Counter;
  createTime: Histogram;
  waitTime: Histogram;
  timeouts: Counter;
  operationDuration: Histogram;
  count: ObservableUpDownCounter;
  max: ObservableUpDownCounter;
  pending: ObservableUpDownCounter;
  pools: Map<pg.Pool, string>;
  names: Set<string>;
  callback: BatchObservableCallback | undefined;
}

const byProvider = new WeakMap<MeterProvider, Instruments>();

function createInstruments(meter: Meter): Instruments {
  const seconds = (name: string, description: string) =>
    meter.createHistogram(name, {
      description,
      unit: 's',
      advice: { explicitBucketBoundaries: DURATION_BUCKETS },
    });
  return {
    meter,
    credentialDuration: seconds(
      'lakebase.credential.fetch.duration',
      'Duration of Lakebase credential API calls',
    ),
    cacheHits: meter.createCounter('lakebase.token.cache.hits', {
      description: 'Token requests answered from the cache',
      unit: '{request}',
    }),
    cacheMisses: meter.createCounter('lakebase.token.cache.misses', {
      description: 'Token requests that waited on the credential API',
      unit: '{request}',
    }),
    connectRetries: meter.createCounter('lakebase.connection.retries', {
      description: 'Connection attempts retried after a rejected token or while the compute wakes',
      unit: '{retry}',
    }),
    authFailures: meter.createCounter('lakebase.auth.failures', {
      description: 'Logins rejected by Postgres (SQLSTATE 28P01/28000)',
      unit: '{failure}',
    }),
    createTime: seconds(
      'db.client.connection.create_time',
      'The time it took to create a new connection',
    ),
    waitTime: seconds(
      'db.client.connection.wait_time',
      'The time it took to obtain an open connection from the pool',
    ),
    timeouts: meter.createCounter('db.client.connection.timeouts', {
      description:
        'The number of connection timeouts that have occurred trying to obtain a connection from the pool',
      unit: '{timeout}',
    }),
    operationDuration: seconds(
      'db.client.operation.duration',
      'Duration of database client operations',
    ),
    count: meter.createObservableUpDownCounter('db.client.connection.count', {
      description:
        'The number of connections that are currently in state described by the state attribute',
      unit: '{connection}',
    }),
    max: meter.createObservableUpDownCounter('db.client.connection.max', {
      description: 'The maximum number of open connections allowed',
      unit: '{connection}',
    }),
    pending: meter.createObservableUpDownCounter('db.client.connection.pending_requests', {
      description: 'The number of current pending requests for an open connection',
      unit: '{request}',
    }),
    pools: new Map(),
    names: new Set(),
    callback: undefined,
  };
}

let lastProvider: MeterProvider | undefined;
let lastInstruments: Instruments | undefined;

function instruments(): Instruments {
  const provider = metrics.getMeterProvider();
  if (provider === lastProvider && lastInstruments) return lastInstruments;
  let found = byProvider.get(provider);
  if (!found) {
    found = createInstruments(provider.getMeter(INSTRUMENTATION_SCOPE, VERSION));
    byProvider.set(provider, found);
  }
  lastProvider = provider;
  lastInstruments = found;
  return found;
}

function observePools(inst: Instruments): BatchObservableCallback {
  return (result) => {
    const totals = new Map<string, { idle: number; used: number; max: number; pending: number }>();
    for (const name of inst.names) totals.set(name, { idle: 0, used: 0, max: 0, pending: 0 });
    for (const [pool, name] of inst.pools) {
      const t = totals.get(name) ?? { idle: 0, used: 0, max: 0, pending: 0 };
      t.idle += pool.idleCount;
      t.used += Math.max(0, pool.totalCount - pool.idleCount);
      t.max += pool.options.max ?? 10;
      t.pending += pool.waitingCount;
      totals.set(name, t);
    }
    for (const [name, t] of totals) {
      result.observe(inst.count, t.idle, {
        [ATTR_POOL_NAME]: name,
        'db.client.connection.state': 'idle',
      });
      result.observe(inst.count, t.used, {
        [ATTR_POOL_NAME]: name,
        'db.client.connection.state': 'used',
      });
      result.observe(inst.max, t.max, { [ATTR_POOL_NAME]: name });
      result.observe(inst.pending, t.pending, { [ATTR_POOL_NAME]: name });
    }
  };
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
  const stripped = text.replace(/^(?:\s+|--[^\n]*\n?|\/\*[\s\S]*?\*\/)+/, '');
  const word = /^[A-Za-z]+/.exec(stripped)?.[0]?.toUpperCase();
  return word && OPERATIONS.has(word) ? word : undefined;
}

/** Low-cardinality error type: SQLSTATE, errno code, or the error class name. */
export function errorType(error: unknown): string {
  if (error instanceof CredentialError)
    return error.errorCode ?? (error.status ? String(error.status) : 'CredentialError');
  if (error && typeof error === 'object') {
    const code = (error as { code?: unknown }).code;
    if (typeof code === 'string' && /^[A-Z0-9_]{2,32}$/.test(code)) return code;
    const name = (error as { name?: unknown }).name;
    if (typeof name === 'string' && name !== 'Error') return name;
  }
  return '_OTHER';
}

const NOOP_RECORDER: QueryRecorder = { end: () => {} };

interface QueryShape {
  spanName: string;
  spanAttributes: Attributes;
  metricAttributes: Attributes;
}

/** The attributes of one (pool target, operation): built once, shared by every such query. */
function queryShape(target: QueryTarget, operation: string | undefined): QueryShape {
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

let tracerProvider: unknown;
let tracer: Tracer | undefined;

/** The tracer of the current global provider, looked up again only when the provider changes. */
function currentTracer(): Tracer {
  const provider = trace.getTracerProvider();
  if (provider !== tracerProvider || !tracer) {
    tracerProvider = provider;
    tracer = provider.getTracer(INSTRUMENTATION_SCOPE, VERSION);
  }
  return tracer;
}

const byPoolName = new Map<string, Attributes>();
function poolAttributes(poolName: string): Attributes {
  let attributes = byPoolName.get(poolName);
  if (!attributes) {
    attributes = Object.freeze({ [ATTR_POOL_NAME]: poolName });
    byPoolName.set(poolName, attributes);
  }
  return attributes;
}

/** Telemetry with the given switches, reading the global OTel providers. */
export function createTelemetry(options: {
  traces: boolean;
  metrics: boolean;
  queries?: boolean;
}): Telemetry {
  const { traces, metrics: metricsOn } = options;
  const queries = options.queries ?? true;
  const m = (fn: (inst: Instruments) => void) => {
    if (metricsOn) fn(instruments());
  };
  const pool = (poolName: string): Attributes => poolAttributes(poolName);

  return {
    traces,
    metrics: metricsOn,
    queries,
    credentialFetch(poolName, seconds, error) {
      m((i) =>
        i.credentialDuration.record(seconds, {
          ...pool(poolName),
          'lakebase.credential.outcome': error === undefined ? 'success' : 'failure',
          ...(error === undefined ? {} : { 'error.type': errorType(error) }),
        }),
      );
    },
    cacheLookup(poolName, hit) {
      m((i) => (hit ? i.cacheHits : i.cacheMisses).add(1, pool(poolName)));
    },
    connectRetry(poolName, reason, type) {
      m((i) =>
        i.connectRetries.add(1, {
          ...pool(poolName),
          'lakebase.retry.reason': reason,
          'error.type': type,
        }),
      );
    },
    authFailure(poolName) {
      m((i) => i.authFailures.add(1, pool(poolName)));
    },
    connectionCreated(poolName, seconds) {
      m((i) => i.createTime.record(seconds, pool(poolName)));
    },
    connectionWait(poolName, seconds) {
      m((i) => i.waitTime.record(seconds, pool(poolName)));
    },
    connectionTimeout(poolName) {
      m((i) => i.timeouts.add(1, pool(poolName)));
    },
    registerPool(target, poolName) {
      if (!metricsOn) return () => {};
      const inst = instruments();
      inst.pools.set(target, poolName);
      inst.names.add(poolName);
      if (!inst.callback) {
        // One batch callback per meter provider sums every live pool per name. It stays
        // registered (a name whose pools all ended reports 0, instead of a stale last value).
        inst.callback = observePools(inst);
        inst.meter.addBatchObservableCallback(inst.callback, [inst.count, inst.max, inst.pending]);
      }
      let done = false;
      return () => {
        if (done) return;
        done = true;
        inst.pools.delete(target); // the ended pool is no longer observed nor referenced
      };
    },
    queryTracer(target) {
      if (!queries || (!traces && !metricsOn)) return { start: () => NOOP_RECORDER };
      // One shape per operation keyword (a fixed list), so this map stays small.
      const shapes = new Map<string | undefined, QueryShape>();
      return {
        start(text, parameterized) {
          const operation = operationName(text);
          let shape = shapes.get(operation);
          if (!shape) {
            shape = queryShape(target, operation);
            shapes.set(operation, shape);
          }
          const span = traces
            ? currentTracer().startSpan(
                shape.spanName,
                {
                  kind: SpanKind.CLIENT,
                  attributes:
                    parameterized && text
                      ? { ...shape.spanAttributes, 'db.query.text': text }
                      : shape.spanAttributes,
                },
                context.active(),
              )
            : undefined;
          const start = performance.now();
          let ended = false;
          const recordShape = shape;
          return {
            end(error?: unknown) {
              if (ended) return;
              ended = true;
              // The end time is taken now; the recording itself runs after the caller's code
              // has moved on (see `deferRecording`), off the query's latency path.
              deferRecording(span, recordShape, start, performance.now(), error, metricsOn);
            },
          };
        },
      };
    },
  };
}

interface PendingQuery {
  span: Span | undefined;
  shape: QueryShape;
  start: number;
  end: number;
  error: unknown;
  metrics: boolean;
}

let pending: PendingQuery[] = [];
let flushScheduled = false;

function deferRecording(
  span: Span | undefined,
  shape: QueryShape,
  start: number,
  end: number,
  error: unknown,
  metrics: boolean,
): void {
  pending.push({ span, shape, start, end, error, metrics });
  if (!flushScheduled) {
    flushScheduled = true;
    setImmediate(flushTelemetry);
  }
}

/**
 * Records the query spans and durations that ended so far. They are recorded in a batch right
 * after the current I/O turn (with their real end times); call this to have them now (tests,
 * or before shutting an OTel SDK down).
 */
export function flushTelemetry(): void {
  flushScheduled = false;
  const batch = pending;
  pending = [];
  for (const query of batch) recordQuery(query);
}

function recordQuery({ span, shape, start, end, error, metrics: metricsOn }: PendingQuery): void {
  const seconds = (end - start) / 1000;
  if (error === undefined) {
    span?.end(end);
    if (metricsOn) instruments().operationDuration.record(seconds, shape.metricAttributes);
    return;
  }
  const failure: Attributes = { 'error.type': errorType(error) };
  const code = (error as { code?: unknown })?.code;
  if (typeof code === 'string' && /^[0-9A-Z]{5}$/.test(code)) {
    failure['db.response.status_code'] = code;
  }
  if (span) {
    span.setAttributes(failure);
    span.setStatus({ code: SpanStatusCode.ERROR, message: String(failure['error.type']) });
    span.end(end);
  }
  if (metricsOn) {
    instruments().operationDuration.record(seconds, { ...shape.metricAttributes, ...failure });
  }
}

/** Record a credential fetch as a span (when traces are on) — wraps the source's promise. */
export async function traceCredentialFetch<T>(
  telemetry: Telemetry,
  poolName: string,
  run: () => Promise<T>,
): Promise<T> {
  const start = performance.now();
  const span = telemetry.traces
    ? currentTracer().startSpan('lakebase.credential.fetch', {
        attributes: { [ATTR_POOL_NAME]: poolName },
      })
    : undefined;
  try {
    const result = await run();
    telemetry.credentialFetch(poolName, (performance.now() - start) / 1000);
    span?.end();
    return result;
  } catch (error) {
    telemetry.credentialFetch(poolName, (performance.now() - start) / 1000, error);
    span?.setAttribute('error.type', errorType(error));
    span?.setStatus({ code: SpanStatusCode.ERROR });
    span?.end();
    throw error;
  }
}
