/**
 * An OpenTelemetry SDK for the telemetry suites: a metric reader collected on demand and an
 * in-memory span exporter, registered as the global providers (what an app's SDK does).
 */
import { metrics, trace } from '@opentelemetry/api';
import { MeterProvider, MetricReader } from '@opentelemetry/sdk-metrics';
import {
  BasicTracerProvider,
  InMemorySpanExporter,
  SimpleSpanProcessor,
} from '@opentelemetry/sdk-trace-base';

/** A reader that exports nothing: the suites `collect()` it. */
export class TestReader extends MetricReader {
  protected async onForceFlush(): Promise<void> {}
  protected async onShutdown(): Promise<void> {}
}

/** Registers the global meter and tracer providers; their reader and span exporter. */
export function installOtelSdk(): { reader: TestReader; spans: InMemorySpanExporter } {
  const reader = new TestReader();
  const spans = new InMemorySpanExporter();
  metrics.setGlobalMeterProvider(new MeterProvider({ readers: [reader] }));
  trace.setGlobalTracerProvider(
    new BasicTracerProvider({ spanProcessors: [new SimpleSpanProcessor(spans)] }),
  );
  return { reader, spans };
}

/** One turn of the event loop: lets recorded ends and callbacks land. */
export const settle = () => new Promise((resolve) => setImmediate(resolve));
