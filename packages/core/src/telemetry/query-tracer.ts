/**
 * The per-query part of telemetry, kept as small as it can be on the query's path: at its start,
 * a span (when an SDK records it) and the start time; at its end, the end time and a place in a
 * queue. Everything else — ending the span, recording durations, building failure attributes —
 * runs after the current I/O turn, in batches (`QueryQueue.flush`). The attributes of each kind
 * of query are built once (`queryShape`) and shared; query texts are remembered (bounded) so a
 * statement is lexed once.
 */
import {
  context,
  type Histogram,
  type Span,
  SpanKind,
  SpanStatusCode,
  type Tracer,
} from '@opentelemetry/api';
import type { TelemetryNames } from '../base/types.js';
import {
  failureAttributes,
  operationName,
  type QueryShape,
  type QueryTarget,
  queryShape,
} from './attributes.js';

/** Starts the span and duration measurement of one query of a pool. */
export interface QueryTracer {
  /** `text` goes on spans and the official metric only when the query is parameterized. */
  start(text: string | undefined, parameterized: boolean): QueryRecorder;
}

/** Ends one query's span and records its duration (once; later calls do nothing). */
export interface QueryRecorder {
  end(error?: unknown): void;
}

const NOOP_RECORDER: QueryRecorder = { end: () => {} };
export const NOOP_TRACER: QueryTracer = { start: () => NOOP_RECORDER };

/** Kinds of query remembered per pool (a hot path mostly repeats a few). */
const MAX_SHAPES = 512;

/** What a tracer needs of its Telemetry (per query, no I/O). */
export interface QuerySink {
  readonly names: TelemetryNames;
  /** The tracer spans are started on, or undefined when traces are off. */
  tracer(): Tracer | undefined;
  /** True when durations go somewhere (metrics on and an SDK registered). */
  recordsDurations(): boolean;
  /** Takes a finished query, to be recorded after the current I/O turn. */
  finished(query: QueryRecording): void;
}

/** One query being timed: handed to the sink at its end, recorded after the I/O turn. */
export class QueryRecording implements QueryRecorder {
  readonly start = performance.now();
  endedAt = 0;
  error: unknown;
  readonly span: Span | undefined;
  readonly shape: QueryShape;
  #sink: QuerySink | undefined;

  constructor(sink: QuerySink, span: Span | undefined, shape: QueryShape) {
    this.#sink = sink;
    this.span = span;
    this.shape = shape;
  }

  end(error?: unknown): void {
    const sink = this.#sink;
    if (!sink) return;
    this.#sink = undefined;
    this.endedAt = performance.now();
    this.error = error;
    sink.finished(this);
  }
}

/** The durations a finished query goes to (per meter provider). */
export interface QueryHistograms {
  official: Histogram | undefined;
  semconv: Histogram | undefined;
}

/** Finished queries waiting to be recorded after the current I/O turn. */
export class QueryQueue {
  #finished: QueryRecording[] = [];

  /** Adds a finished query; true when it is the first since the last flush (schedule one). */
  push(query: QueryRecording): boolean {
    this.#finished.push(query);
    return this.#finished.length === 1;
  }

  /** Records the queries that ended so far into `histograms`. */
  flush({ official, semconv }: QueryHistograms): void {
    const batch = this.#finished;
    if (batch.length === 0) return;
    this.#finished = [];
    for (const query of batch) {
      const ms = query.endedAt - query.start;
      const { shape, span } = query;
      if (query.error === undefined) {
        span?.end(query.endedAt);
        if (official && shape.officialMetric) official.record(ms, shape.officialMetric);
        if (semconv && shape.semconvMetric) semconv.record(ms / 1000, shape.semconvMetric);
        continue;
      }
      const failure = failureAttributes(query.error);
      if (span) {
        span.setAttributes(failure);
        span.setStatus({ code: SpanStatusCode.ERROR, message: String(failure['error.type']) });
        span.end(query.endedAt);
      }
      if (official && shape.officialMetric) {
        official.record(ms, { ...shape.officialMetric, ...failure });
      }
      if (semconv && shape.semconvMetric) {
        semconv.record(ms / 1000, { ...shape.semconvMetric, ...failure });
      }
    }
  }
}

/** The query spans and durations of one pool's connections. */
export function queryTracer(target: QueryTarget, sink: QuerySink): QueryTracer {
  const shapes = new Map<string, QueryShape>();
  let untexted: QueryShape | undefined;
  const shapeOf = (text: string | undefined, parameterized: boolean): QueryShape => {
    if (text === undefined) {
      untexted ??= queryShape(target, sink.names, undefined, undefined);
      return untexted;
    }
    const key = parameterized ? text : `\u0000${text}`;
    let shape = shapes.get(key);
    if (!shape) {
      shape = queryShape(target, sink.names, operationName(text), parameterized ? text : undefined);
      if (shapes.size >= MAX_SHAPES) shapes.clear();
      shapes.set(key, shape);
    }
    return shape;
  };
  return {
    start: (text, parameterized) => {
      const tracer = sink.tracer();
      const recordsDuration = sink.recordsDurations();
      if (!tracer && !recordsDuration) return NOOP_RECORDER;
      const shape = shapeOf(text, parameterized);
      const span = tracer?.startSpan(
        shape.spanName,
        { kind: SpanKind.CLIENT, attributes: shape.spanAttributes },
        context.active(),
      );
      const recordsSpan = span?.isRecording() === true;
      // no SDK (or a sampler that drops the span, and no meter): nothing to record
      if (!recordsSpan && !recordsDuration) return NOOP_RECORDER;
      return new QueryRecording(sink, recordsSpan ? span : undefined, shape);
    },
  };
}
