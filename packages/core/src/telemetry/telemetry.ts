/**
 * OpenTelemetry for one `Lakebase` (or one `createLakebasePool`): a no-op until an OTel SDK is
 * registered. It names its spans and instruments as the official `@databricks/lakebase` does
 * (the default: a team's dashboards keep working after the swap), per the OpenTelemetry
 * database semantic conventions, or both (`telemetry.names`). Each instance keeps its own
 * instruments per meter provider, its own pool gauges and its own queue of finished queries;
 * nothing is shared between instances at module level. Query spans and durations are skipped,
 * per query, whenever `@opentelemetry/instrumentation-pg` has patched pg (it records them
 * itself). Attributes are low-cardinality: SQL text only of parameterized statements, never a
 * user name or email.
 */
import {
  type Attributes,
  type MeterProvider,
  metrics,
  SpanKind,
  SpanStatusCode,
  type Tracer,
  type TracerProvider,
  trace,
} from '@opentelemetry/api';
import type pg from 'pg';
import type { TelemetryNames } from '../base/types.js';
import type { ResolvedTelemetry } from '../config/resolve-config.js';
import { ATTR_POOL_NAME, errorType, type QueryTarget } from './attributes.js';
import { createInstruments, type Instruments } from './instruments.js';
import { PoolGauges } from './pool-gauges.js';
import {
  NOOP_TRACER,
  QueryQueue,
  type QueryRecording,
  type QuerySink,
  type QueryTracer,
  queryTracer,
} from './query-tracer.js';

export type { QueryRecorder, QueryTracer } from './query-tracer.js';

export const INSTRUMENTATION_SCOPE = '@lakebase-kit/core';
const VERSION = '0.1.0';

/** True when `@opentelemetry/instrumentation-pg` (or any shimmer wrapper) patched `query`. */
export function isPgInstrumented(Client: { prototype: { query: unknown } }): boolean {
  const query = Client.prototype.query as { __wrapped?: boolean; __original?: unknown } | undefined;
  return Boolean(query && (query.__wrapped === true || query.__original !== undefined));
}

export class Telemetry implements QuerySink {
  readonly traces: boolean;
  readonly metrics: boolean;
  readonly names: TelemetryNames;
  /** True when the semantic conventions' instruments are recorded too (`names` not `official`). */
  readonly #semconv: boolean;
  /** Query spans + durations: true/false forced, undefined → unless instrumentation-pg. */
  readonly #queries: boolean | undefined;
  /** The endpoint, for the official token-refresh span. */
  readonly #endpoint: string | undefined;
  readonly #byProvider = new WeakMap<MeterProvider, Instruments>();
  #lastProvider: MeterProvider | undefined;
  #lastInstruments: Instruments | undefined;
  #tracerProvider: TracerProvider | undefined;
  #tracer: Tracer | undefined;
  readonly #poolAttributes = new Map<string, Attributes>();
  readonly #gauges = new PoolGauges();
  readonly #queue = new QueryQueue();
  #flushScheduled = false;
  #closed = false;

  constructor(options: ResolvedTelemetry, endpoint?: string) {
    this.traces = options.traces;
    this.metrics = options.metrics;
    this.names = options.names;
    this.#semconv = options.metrics && options.names !== 'official';
    this.#queries = options.queries;
    this.#endpoint = endpoint;
  }

  /** Whether query spans/durations are recorded by us for a client class right now. */
  recordsQueries(Client: { prototype: { query: unknown } }): boolean {
    if (!this.traces && !this.metrics) return false;
    if (this.#queries !== undefined) return this.#queries;
    return !isPgInstrumented(Client);
  }

  /** The query spans (CLIENT) and durations of one pool's connections. */
  queryTracer(target: QueryTarget): QueryTracer {
    if (!this.traces && !this.metrics) return NOOP_TRACER;
    return queryTracer(target, this);
  }

  // --- QuerySink: what a query tracer asks per query ---

  tracer(): Tracer | undefined {
    return this.traces ? this.#currentTracer() : undefined;
  }

  recordsDurations(): boolean {
    return this.metrics && this.#instruments().recordsDurations;
  }

  finished(query: QueryRecording): void {
    if (this.#queue.push(query) && !this.#flushScheduled) {
      this.#flushScheduled = true;
      setImmediate(() => this.flush());
    }
  }

  /** Records the queries that ended so far (they are otherwise recorded after the I/O turn). */
  flush(): void {
    this.#flushScheduled = false;
    const inst = this.metrics ? this.#instruments() : undefined;
    this.#queue.flush({
      official: inst?.official?.queryDuration,
      semconv: inst?.semconv?.operationDuration,
    });
  }

  // --- pools and connections ---

  /** Observe the pool's connection gauges until the returned function is called. */
  registerPool(target: pg.Pool, poolName: string): () => void {
    if (!this.metrics || this.#closed) return () => {};
    return this.#gauges.register(target, poolName, this.#instruments());
  }

  /** An error of an idle pooled connection (official `lakebase.pool.errors`). */
  poolError(error: unknown): void {
    const official = this.metrics ? this.#instruments().official : undefined;
    if (!official) return;
    const code = (error as { code?: unknown } | null)?.code;
    official.poolErrors.add(1, { 'error.code': typeof code === 'string' ? code : 'unknown' });
  }

  connectionCreated(poolName: string, seconds: number): void {
    if (!this.#semconv) return;
    const semconv = this.#instruments().semconv;
    semconv?.createTime.record(seconds, this.#pool(poolName));
  }

  connectionWait(poolName: string, seconds: number): void {
    if (!this.#semconv) return; // per checkout: nothing to look up in the default (official) names
    const semconv = this.#instruments().semconv;
    semconv?.waitTime.record(seconds, this.#pool(poolName));
  }

  connectionTimeout(poolName: string): void {
    if (!this.#semconv) return;
    const semconv = this.#instruments().semconv;
    semconv?.timeouts.add(1, this.#pool(poolName));
  }

  connectRetry(poolName: string, reason: 'auth' | 'wake', type: string): void {
    if (!this.metrics) return;
    this.#instruments().kit.connectRetries.add(1, {
      ...this.#pool(poolName),
      'lakebase.retry.reason': reason,
      'error.type': type,
    });
  }

  authFailure(poolName: string): void {
    if (this.metrics) this.#instruments().kit.authFailures.add(1, this.#pool(poolName));
  }

  // --- tokens ---

  cacheLookup(poolName: string, hit: boolean): void {
    if (!this.metrics) return;
    const kit = this.#instruments().kit;
    (hit ? kit.cacheHits : kit.cacheMisses).add(1, this.#pool(poolName));
  }

  credentialFetch(poolName: string, seconds: number, error?: unknown): void {
    if (!this.metrics) return;
    const inst = this.#instruments();
    inst.official?.tokenRefreshDuration.record(seconds * 1000);
    inst.semconv?.credentialDuration.record(seconds, {
      ...this.#pool(poolName),
      'lakebase.credential.outcome': error === undefined ? 'success' : 'failure',
      ...(error === undefined ? {} : { 'error.type': errorType(error) }),
    });
  }

  /** A credential fetch as a span (when traces are on) and a duration. */
  async traceCredentialFetch<T>(poolName: string, run: () => Promise<T>): Promise<T> {
    const start = performance.now();
    const official = this.names !== 'semconv';
    const span = this.traces
      ? this.#currentTracer().startSpan(
          official ? 'lakebase.token.refresh' : 'lakebase.credential.fetch',
          {
            kind: SpanKind.INTERNAL,
            attributes: {
              ...this.#pool(poolName),
              ...(official && this.#endpoint ? { 'lakebase.endpoint': this.#endpoint } : {}),
            },
          },
        )
      : undefined;
    try {
      const result = await run();
      this.credentialFetch(poolName, (performance.now() - start) / 1000);
      const expiresAt = (result as { expiresAt?: unknown } | null)?.expiresAt;
      if (official && expiresAt instanceof Date) {
        span?.setAttribute('lakebase.token.expires_at', expiresAt.toISOString());
      }
      span?.setStatus({ code: SpanStatusCode.OK });
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

  /**
   * Flushes and forgets every pool. The gauges report 0 once more at the next collection (a
   * cumulative exporter would otherwise keep their last value), then stop being observed.
   */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.flush();
    this.#gauges.close();
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
      found = createInstruments(provider.getMeter(INSTRUMENTATION_SCOPE, VERSION), this.names);
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
