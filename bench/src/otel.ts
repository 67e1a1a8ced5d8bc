/**
 * An OpenTelemetry SDK as an app would register it: a MeterProvider with a periodic reader
 * and a tracer provider with a batch span processor. Both export to in-memory exporters that
 * are cleared every second, so spans and metrics are really produced, batched and exported,
 * and memory stays flat. Exported spans are counted per instrumentation scope.
 */
import { metrics, trace } from '@opentelemetry/api';
import {
  AggregationTemporality,
  InMemoryMetricExporter,
  MeterProvider,
  PeriodicExportingMetricReader,
} from '@opentelemetry/sdk-metrics';
import {
  BasicTracerProvider,
  BatchSpanProcessor,
  InMemorySpanExporter,
} from '@opentelemetry/sdk-trace-base';

export interface OtelSdk {
  /** Spans exported so far, per instrumentation scope name. */
  spans(): Record<string, number>;
  /** Exports the spans still queued in the batch processor. */
  flush(): Promise<void>;
  shutdown(): Promise<void>;
}

export function registerOtelSdk(): OtelSdk {
  const spanExporter = new InMemorySpanExporter();
  const tracerProvider = new BasicTracerProvider({
    spanProcessors: [new BatchSpanProcessor(spanExporter, { maxQueueSize: 8192 })],
  });
  const metricExporter = new InMemoryMetricExporter(AggregationTemporality.CUMULATIVE);
  const meterProvider = new MeterProvider({
    readers: [
      new PeriodicExportingMetricReader({ exporter: metricExporter, exportIntervalMillis: 2000 }),
    ],
  });
  trace.setGlobalTracerProvider(tracerProvider);
  metrics.setGlobalMeterProvider(meterProvider);

  const counts: Record<string, number> = {};
  const drain = () => {
    for (const span of spanExporter.getFinishedSpans()) {
      const scope = span.instrumentationScope.name;
      counts[scope] = (counts[scope] ?? 0) + 1;
    }
    spanExporter.reset();
    metricExporter.reset();
  };
  const timer = setInterval(drain, 1000);
  timer.unref();

  return {
    spans() {
      drain();
      return { ...counts };
    },
    flush: () => tracerProvider.forceFlush(),
    async shutdown() {
      clearInterval(timer);
      await Promise.allSettled([tracerProvider.shutdown(), meterProvider.shutdown()]);
      trace.disable();
      metrics.disable();
    },
  };
}
