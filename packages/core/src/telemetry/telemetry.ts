/**
 * OpenTelemetry for one `Lakebase` (or one `createLakebasePool`): a no-op until an OTel SDK is
 * registered. Each instance keeps its own instruments per meter provider, its own pool gauges
 * (one batch callback summing its live pools per pool name) and its own queue of finished
 * queries; nothing is shared between instances at module level. Query spans and
 * `db.client.operation.duration` are skipped, per query, whenever
 * `@opentelemetry/instrumentation-pg` has patched pg (it records them itself). Attributes are
 * low-cardinality: never SQL text on metrics, never a user name or email.
 */
import {
  type Attributes,
  type BatchObservableCallback,
  type Counter,
  context,
  createNoopMeter,
  type Histogram,
  type Meter,
  type MeterProvider,
  metrics,
  type ObservableUpDownCounter,
  type Span,
  SpanKind,
  SpanStatusCode,
  type Tracer,
  type TracerProvider,
  trace,
} from '@opentelemetry/api';
import type pg from 'pg';
import type { ResolvedTelemetry } from '../config/resolve-config.js';
import {
  ATTR_POOL_NAME,
  errorType,
  failureAttributes,
  operationName,
  type QueryShape,
  type QueryTarget,
  queryShape,
} from './attributes.js';

export const INSTRUMENTATION_SCOPE = '@lakebase-kit/core';
const VERSION = '0.1.0';

/** Semconv advice for durations in seconds. */
const DURATION_BUCKETS = [
  0.001, 0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.25, 0.5, 0.75, 1, 2.5, 5, 7.5, 10,
];

/** Starts the span and duration measurement of one query of a pool. */
export interface QueryTracer {
  /** `text` is recorded (as `db.query.text`, on spans) only when the query is parameterized. */
  start(text: string | undefined, parameterized: boolean): QueryRecorder;
}

/** Ends one query's span and records its duration (once; later calls do nothing). */
export interface QueryRecorder {
  end(error?: unknown): void;
}

const NOOP_RECORDER: QueryRecorder = { end: () => {} };
const NOOP_TRACER: QueryTracer = { start: () => NOOP_RECORDER };

/** True when `@opentelemetry/instrumentation-pg` (or any shimmer wrapper) patched `query`. */
export function isPgInstrumented(Client: { prototype: { query: unknown } }): boolean {
  const query = Client.prototype.query as { __wrapped?: boolean; __original?: unknown } | undefined;
  return Boolean(query && (query.__wrapped === true || query.__original !== undefined));
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
  /** False under the API's no-op meter (no SDK registered). */
  recordsDurations: boolean;
  count: ObservableUpDownCounter;
  max: ObservableUpDownCounter;
  pending: ObservableUpDownCounter;
  gauges: BatchObservableCallback | undefined;
}

function createInstruments(meter: Meter): Instruments {
  const seconds = (name: string, description: string) =>
    meter.createHistogram(name, {
      description,
      unit: 's',
      advice: { explicitBucketBoundaries: DURATION_BUCKETS },
    });
  const operationDuration = seconds(
    'db.client.operation.duration',
    'Duration of database client operations',
  );
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
    operationDuration,
    recordsDurations: operationDuration !== NOOP_HISTOGRAM,
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
    gauges: undefined,
  };
}

interface FinishedQuery {
  span: Span | undefined;
  shape: QueryShape;
  start: number;
  end: number;
  error: unknown;
}

/** Query texts whose SQL keyword is remembered per pool (a hot path mostly repeats a few). */
const MAX_REMEMBERED_TEXTS = 512;

/** What the API's no-op meter hands out: a duration recorded there goes nowhere. */
const NOOP_HISTOGRAM = createNoopMeter().createHistogram('lakebase.noop');

/** One query being timed: its end time is taken at `end()`, the recording comes later. */
class QueryRecording implements QueryRecorder {
  readonly #start = performance.now();
  #ended = false;

  readonly #telemetry: Telemetry;
  readonly #span: Span | undefined;
  readonly #shape: QueryShape;

  constructor(telemetry: Telemetry, span: Span | undefined, shape: QueryShape) {
    this.#telemetry = telemetry;
    this.#span = span;
    this.#shape = shape;
  }

  end(error?: unknown): void {
    if (this.#ended) return;
    this.#ended = true;
    this.#telemetry.finishedQuery({
      span: this.#span,
      shape: this.#shape,
      start: this.#start,
      end: performance.now(),
      error,
    });
  }
}

export class Telemetry {
  readonly traces: boolean;
  readonly metrics: boolean;
  /** Query spans + durations: true/false forced, undefined → unless instrumentation-pg. */
  readonly #queries: boolean | undefined;
  readonly #byProvider = new WeakMap<MeterProvider, Instruments>();
  #lastProvider: MeterProvider | undefined;
  #lastInstruments: Instruments | undefined;
  #tracerProvider: TracerProvider | undefined;
  #tracer: Tracer | undefined;
  readonly #poolAttributes = new Map<string, Attributes>();
  /** Live pools observed by the gauges, per pool name. */
  readonly #pools = new Map<pg.Pool, string>();
  readonly #poolNames = new Set<string>();
  #finished: FinishedQuery[] = [];
  #flushScheduled = false;
  #closed = false;

  constructor(options: ResolvedTelemetry) {
    this.traces = options.traces;
    this.metrics = options.metrics;
    this.#queries = options.queries;
  }

  /** Whether query spans/durations are recorded by us for a client class right now. */
  recordsQueries(Client: { prototype: { query: unknown } }): boolean {
    if (!this.traces && !this.metrics) return false;
    if (this.#queries !== undefined) return this.#queries;
    return !isPgInstrumented(Client);
  }

  credentialFetch(poolName: string, seconds: number, error?: unknown): void {
    if (!this.metrics) return;
    this.#instruments().credentialDuration.record(seconds, {
      ...this.#pool(poolName),
      'lakebase.credential.outcome': error === undefined ? 'success' : 'failure',
      ...(error === undefined ? {} : { 'error.type': errorType(error) }),
    });
  }

  cacheLookup(poolName: string, hit: boolean): void {
    if (!this.metrics) return;
    const i = this.#instruments();
    (hit ? i.cacheHits : i.cacheMisses).add(1, this.#pool(poolName));
  }

  connectRetry(poolName: string, reason: 'auth' | 'wake', type: string): void {
    if (!this.metrics) return;
    this.#instruments().connectRetries.add(1, {
      ...this.#pool(poolName),
      'lakebase.retry.reason': reason,
      'error.type': type,
    });
  }

  authFailure(poolName: string): void {
    if (this.metrics) this.#instruments().authFailures.add(1, this.#pool(poolName));
  }

  connectionCreated(poolName: string, seconds: number): void {
    if (this.metrics) this.#instruments().createTime.record(seconds, this.#pool(poolName));
  }

  connectionWait(poolName: string, seconds: number): void {
    if (this.metrics) this.#instruments().waitTime.record(seconds, this.#pool(poolName));
  }

  connectionTimeout(poolName: string): void {
    if (this.metrics) this.#instruments().timeouts.add(1, this.#pool(poolName));
  }

  /** Observe the pool's connection gauges until the returned function is called. */
  registerPool(target: pg.Pool, poolName: string): () => void {
    if (!this.metrics || this.#closed) return () => {};
    const inst = this.#instruments();
    this.#pools.set(target, poolName);
    this.#poolNames.add(poolName);
    if (!inst.gauges) {
      // One batch callback per (instance, meter provider) sums this instance's live pools per
      // name; a name whose pools all ended reports 0 instead of a stale last value.
      inst.gauges = (result) => {
        const totals = new Map<
          string,
          { idle: number; used: number; max: number; pending: number }
        >();
        for (const name of this.#poolNames)
          totals.set(name, { idle: 0, used: 0, max: 0, pending: 0 });
        for (const [pool, name] of this.#pools) {
          const t = totals.get(name) ?? { idle: 0, used: 0, max: 0, pending: 0 };
          t.idle += pool.idleCount;
          t.used += Math.max(0, pool.totalCount - pool.idleCount);
          t.max += pool.options.max ?? 10;
          t.pending += pool.waitingCount;
          totals.set(name, t);
        }
        for (const [name, t] of totals) {
          const byName = this.#pool(name);
          result.observe(inst.count, t.idle, { ...byName, 'db.client.connection.state': 'idle' });
          result.observe(inst.count, t.used, { ...byName, 'db.client.connection.state': 'used' });
          result.observe(inst.max, t.max, byName);
          result.observe(inst.pending, t.pending, byName);
        }
        // After close(), the zeros above are the last word: then the callback goes.
        if (this.#closed) this.#removeGauges(inst);
      };
      inst.meter.addBatchObservableCallback(inst.gauges, [inst.count, inst.max, inst.pending]);
    }
    let done = false;
    return () => {
      if (done) return;
      done = true;
      this.#pools.delete(target); // the ended pool is no longer observed nor referenced
    };
  }

  /** The query spans (CLIENT) and durations of one pool's connections. */
  queryTracer(target: QueryTarget): QueryTracer {
    if (!this.traces && !this.metrics) return NOOP_TRACER;
    // One shape per operation keyword (a fixed list), so this map stays small; the keyword of
    // a query text is remembered for the texts seen most (bounded).
    const shapes = new Map<string | undefined, QueryShape>();
    const operations = new Map<string, string | undefined>();
    return {
      start: (text, parameterized) => {
        let operation: string | undefined;
        if (text !== undefined) {
          if (operations.has(text)) operation = operations.get(text);
          else {
            operation = operationName(text);
            if (operations.size >= MAX_REMEMBERED_TEXTS) operations.clear();
            operations.set(text, operation);
          }
        }
        let shape = shapes.get(operation);
        if (!shape) {
          shape = queryShape(target, operation);
          shapes.set(operation, shape);
        }
        const span = this.traces
          ? this.#currentTracer().startSpan(
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
        const recordsSpan = span?.isRecording() === true;
        const recordsDuration = this.metrics && this.#instruments().recordsDurations;
        // No SDK (or a sampler that drops the span, and no meter): nothing to record.
        if (!recordsSpan && !recordsDuration) return NOOP_RECORDER;
        return new QueryRecording(this, recordsSpan ? span : undefined, shape);
      },
    };
  }

  /** Queues a finished query; recording runs right after the current I/O turn. */
  finishedQuery(query: FinishedQuery): void {
    this.#finished.push(query);
    if (!this.#flushScheduled) {
      this.#flushScheduled = true;
      setImmediate(() => this.flush());
    }
  }

  /** Record a credential fetch as a span (when traces are on) and a duration. */
  async traceCredentialFetch<T>(poolName: string, run: () => Promise<T>): Promise<T> {
    const start = performance.now();
    const span = this.traces
      ? this.#currentTracer().startSpan('lakebase.credential.fetch', {
          attributes: this.#pool(poolName),
        })
      : undefined;
    try {
      const result = await run();
      this.credentialFetch(poolName, (performance.now() - start) / 1000);
      span?.end();
      return result;
    } catch (error) {
      this.credentialFetch(poolName, (performance.now() - start) / 1000, error);
      span?.setAttribute('error.type', errorType(error));
      span?.setStatus({ code: SpanStatusCode.ERROR });
      span?.end();
      throw error;
    }
  }

  /** Records the queries that ended so far (they are otherwise recorded after the I/O turn). */
  flush(): void {
    this.#flushScheduled = false;
    const batch = this.#finished;
    if (batch.length === 0) return;
    this.#finished = [];
    const operationDuration = this.metrics ? this.#instruments().operationDuration : undefined;
    for (const query of batch) {
      const seconds = (query.end - query.start) / 1000;
      if (query.error === undefined) {
        query.span?.end(query.end);
        operationDuration?.record(seconds, query.shape.metricAttributes);
        continue;
      }
      const failure = failureAttributes(query.error);
      if (query.span) {
        query.span.setAttributes(failure);
        query.span.setStatus({
          code: SpanStatusCode.ERROR,
          message: String(failure['error.type']),
        });
        query.span.end(query.end);
      }
      operationDuration?.record(seconds, { ...query.shape.metricAttributes, ...failure });
    }
  }

  /**
   * Flushes and forgets every pool. The gauges report 0 once more at the next collection (a
   * cumulative exporter would otherwise keep their last value), then stop being observed.
   */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.flush();
    this.#pools.clear();
  }

  #removeGauges(inst: Instruments): void {
    const gauges = inst.gauges;
    if (!gauges) return;
    inst.gauges = undefined;
    // not from inside the collection that is calling us
    setImmediate(() =>
      inst.meter.removeBatchObservableCallback(gauges, [inst.count, inst.max, inst.pending]),
    ).unref();
  }

  #pool(poolName: string): Attributes {
    let attributes = this.#poolAttributes.get(poolName);
    if (!attributes) {
      attributes = Object.freeze({ [ATTR_POOL_NAME]: poolName });
      this.#poolAttributes.set(poolName, attributes);
    }
    return attributes;
  }

  /** The instruments of the current global meter provider (created once per provider). */
  #instruments(): Instruments {
    const provider = metrics.getMeterProvider();
    if (provider === this.#lastProvider && this.#lastInstruments) return this.#lastInstruments;
    let found = this.#byProvider.get(provider);
    if (!found) {
      found = createInstruments(provider.getMeter(INSTRUMENTATION_SCOPE, VERSION));
      this.#byProvider.set(provider, found);
    }
    this.#lastProvider = provider;
    this.#lastInstruments = found;
    return found;
  }

  /** The tracer of the current global provider, looked up again only when it changes. */
  #currentTracer(): Tracer {
    const provider = trace.getTracerProvider();
    if (provider !== this.#tracerProvider || !this.#tracer) {
      this.#tracerProvider = provider;
      this.#tracer = provider.getTracer(INSTRUMENTATION_SCOPE, VERSION);
    }
    return this.#tracer;
  }
}
