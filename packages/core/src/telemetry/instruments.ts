/**
 * The instruments of one meter, by naming scheme: the official `@databricks/lakebase` names
 * (what a team's dashboards read after swapping the import), the OpenTelemetry database
 * semantic conventions, or both. Each is created once per (Telemetry, meter provider).
 */
import {
  type Counter,
  createNoopMeter,
  type Histogram,
  type Meter,
  type ObservableGauge,
  type ObservableUpDownCounter,
} from '@opentelemetry/api';
import type { TelemetryNames } from '../base/types.js';

/** Semconv advice for durations in seconds. */
const SECONDS_BUCKETS = [
  0.001, 0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.25, 0.5, 0.75, 1, 2.5, 5, 7.5, 10,
];
/** The same boundaries in milliseconds (the official instruments are in ms). */
const MS_BUCKETS = SECONDS_BUCKETS.map((s) => s * 1000);

/** The official kit's instruments (`@databricks/lakebase`). */
export interface OfficialInstruments {
  /** `lakebase.query.duration` (ms), attribute `db.statement`. */
  queryDuration: Histogram;
  /** `lakebase.token.refresh.duration` (ms). */
  tokenRefreshDuration: Histogram;
  /** `lakebase.pool.errors`, attribute `error.code`: errors of idle pooled connections. */
  poolErrors: Counter;
  connectionsTotal: ObservableGauge;
  connectionsIdle: ObservableGauge;
  connectionsWaiting: ObservableGauge;
}

/** The OpenTelemetry database semantic conventions' instruments. */
export interface SemconvInstruments {
  operationDuration: Histogram;
  createTime: Histogram;
  waitTime: Histogram;
  timeouts: Counter;
  count: ObservableUpDownCounter;
  max: ObservableUpDownCounter;
  pending: ObservableUpDownCounter;
  credentialDuration: Histogram;
}

/** Ours, in every scheme: cheap, and about what only this kit does. */
export interface KitInstruments {
  cacheHits: Counter;
  cacheMisses: Counter;
  connectRetries: Counter;
  authFailures: Counter;
}

export interface Instruments {
  meter: Meter;
  official: OfficialInstruments | undefined;
  semconv: SemconvInstruments | undefined;
  kit: KitInstruments;
  /** False under the API's no-op meter (no SDK registered): nothing to time per query. */
  recordsDurations: boolean;
}

/** What the API's no-op meter hands out: a duration recorded there goes nowhere. */
const NOOP_HISTOGRAM = createNoopMeter().createHistogram('lakebase.noop');

function official(meter: Meter): OfficialInstruments {
  const gauge = (name: string, description: string) =>
    meter.createObservableGauge(name, { description, unit: '' });
  return {
    queryDuration: meter.createHistogram('lakebase.query.duration', {
      description: 'Duration of queries executed via pool.query',
      unit: 'ms',
      advice: { explicitBucketBoundaries: MS_BUCKETS },
    }),
    tokenRefreshDuration: meter.createHistogram('lakebase.token.refresh.duration', {
      description: 'Duration of OAuth token refresh operations',
      unit: 'ms',
      advice: { explicitBucketBoundaries: MS_BUCKETS },
    }),
    poolErrors: meter.createCounter('lakebase.pool.errors', {
      description: 'Connection pool errors by error code',
      unit: '1',
    }),
    connectionsTotal: gauge('lakebase.pool.connections.total', 'Total connections in the pool'),
    connectionsIdle: gauge('lakebase.pool.connections.idle', 'Idle connections in the pool'),
    connectionsWaiting: gauge(
      'lakebase.pool.connections.waiting',
      'Clients waiting for a connection',
    ),
  };
}

function semconv(meter: Meter): SemconvInstruments {
  const seconds = (name: string, description: string) =>
    meter.createHistogram(name, {
      description,
      unit: 's',
      advice: { explicitBucketBoundaries: SECONDS_BUCKETS },
    });
  return {
    operationDuration: seconds(
      'db.client.operation.duration',
      'Duration of database client operations',
    ),
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
    credentialDuration: seconds(
      'lakebase.credential.fetch.duration',
      'Duration of Lakebase credential API calls',
    ),
  };
}

function kit(meter: Meter): KitInstruments {
  return {
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
  };
}

export function createInstruments(meter: Meter, names: TelemetryNames): Instruments {
  const officialSet = names !== 'semconv' ? official(meter) : undefined;
  const semconvSet = names !== 'official' ? semconv(meter) : undefined;
  const probe = officialSet?.queryDuration ?? semconvSet?.operationDuration;
  return {
    meter,
    official: officialSet,
    semconv: semconvSet,
    kit: kit(meter),
    recordsDurations: probe !== undefined && probe !== NOOP_HISTOGRAM,
  };
}
