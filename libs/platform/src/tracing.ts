import {
  context,
  defaultTextMapGetter,
  defaultTextMapSetter,
  ROOT_CONTEXT,
  SpanKind,
  SpanStatusCode,
  trace,
  type Attributes,
  type Context,
  type Link,
  type Span,
  type Tracer,
} from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import { W3CTraceContextPropagator } from '@opentelemetry/core';
import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-http';
import { resourceFromAttributes } from '@opentelemetry/resources';
import {
  BasicTracerProvider,
  BatchSpanProcessor,
  SimpleSpanProcessor,
  type SpanProcessor,
} from '@opentelemetry/sdk-trace-base';
import { ATTR_SERVICE_NAME } from '@opentelemetry/semantic-conventions';
import { topicFor, type Envelope } from '@almanac/contracts';
import type { ReceivedMessage } from '@almanac/messaging';
import { traceFileExporter } from './trace-file-exporter';

/**
 * Traces (ADR 0022). One run is one trace: RunRequested opens it (span `run.request`), every
 * event carries the W3C trace context of the span that appended it in its envelope metadata
 * (`traceparent`, `tracestate`, `traceId`) and in its Pub/Sub attributes, and every handler runs
 * in a consumer span that is a child of it. The SDK is set up even when nothing exports, so that
 * trace ids exist and travel; ALMANAC_TRACES chooses the exporter (off by default).
 */
export const TRACE_EXPORTERS = ['off', 'otlp', 'file'] as const;
export type TraceExporterName = (typeof TRACE_EXPORTERS)[number];

export class TracingConfigError extends Error {
  readonly code = 'tracing-config';
}

export interface Tracing {
  readonly service: string;
  readonly exporter: TraceExporterName;
  /** exports every span that has ended */
  forceFlush(): Promise<void>;
  /** flushes and stops exporting (the process is about to exit) */
  shutdown(): Promise<void>;
}

interface TracingImpl extends Tracing {
  readonly tracer: Tracer;
}

const TRACER_NAME = 'almanac';
const propagator = new W3CTraceContextPropagator();
let current: TracingImpl | undefined;

/** What ALMANAC_TRACES (and, for `file`, ALMANAC_TRACE_FILE) ask for; throws naming the variable. */
function exporterOf(env: NodeJS.ProcessEnv): {
  name: TraceExporterName;
  processor?: SpanProcessor;
} {
  const name = (env.ALMANAC_TRACES ?? 'off').trim() || 'off';
  if (!(TRACE_EXPORTERS as readonly string[]).includes(name))
    throw new TracingConfigError(
      `ALMANAC_TRACES: expected one of ${TRACE_EXPORTERS.join(', ')}, got ${JSON.stringify(name)}`,
    );
  switch (name as TraceExporterName) {
    case 'off':
      return { name: 'off' };
    case 'otlp': {
      // the exporter reads OTEL_EXPORTER_OTLP_* from process.env itself; an injected env wins
      const url =
        env.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT ??
        (env.OTEL_EXPORTER_OTLP_ENDPOINT
          ? `${env.OTEL_EXPORTER_OTLP_ENDPOINT.replace(/\/+$/, '')}/v1/traces`
          : undefined);
      return {
        name: 'otlp',
        processor: new BatchSpanProcessor(new OTLPTraceExporter(url ? { url } : {})),
      };
    }
    case 'file': {
      const path = env.ALMANAC_TRACE_FILE;
      if (!path)
        throw new TracingConfigError(
          'ALMANAC_TRACES=file needs ALMANAC_TRACE_FILE: the file the spans are appended to',
        );
      // written as each span ends: a killed process loses nothing it finished
      return { name: 'file', processor: new SimpleSpanProcessor(traceFileExporter(path)) };
    }
  }
}

/**
 * A tracer provider of its own (not the global one, see initTracing), exporting as the
 * environment says, plus `processors` (tests give an in-memory exporter's).
 */
export function createTracing(opts: {
  service: string;
  env?: NodeJS.ProcessEnv;
  processors?: SpanProcessor[];
}): TracingImpl {
  const exporter = exporterOf(opts.env ?? process.env);
  const provider = new BasicTracerProvider({
    resource: resourceFromAttributes({
      [ATTR_SERVICE_NAME]: opts.service,
      'service.namespace': 'almanac',
    }),
    spanProcessors: [
      ...(exporter.processor ? [exporter.processor] : []),
      ...(opts.processors ?? []),
    ],
  });
  return {
    service: opts.service,
    exporter: exporter.name,
    tracer: provider.getTracer(TRACER_NAME),
    forceFlush: () => provider.forceFlush(),
    shutdown: () => provider.shutdown(),
  };
}

/**
 * Sets up tracing for this process, once: the first call wins and later calls return it (the
 * embedded engine and the CLI may both ask). The context manager is installed globally so that
 * spans nest across awaits; the tracer provider is deliberately not the global one, or the Google
 * client libraries (Spanner) would export a span for every RPC of every append.
 */
export function initTracing(opts: {
  service: string;
  env?: NodeJS.ProcessEnv;
  processors?: SpanProcessor[];
}): Tracing {
  if (current) return current;
  const tracing = createTracing(opts);
  const manager = new AsyncLocalStorageContextManager().enable();
  // false: one is installed already (a client library's), which propagates as well
  if (!context.setGlobalContextManager(manager)) manager.disable();
  const impl: TracingImpl = {
    ...tracing,
    shutdown: async () => {
      if (current === impl) current = undefined;
      await tracing.shutdown();
    },
  };
  current = impl;
  return impl;
}

/** The process's tracer, or a no-op one before initTracing. */
function tracer(): Tracer {
  return current?.tracer ?? trace.getTracer(TRACER_NAME);
}

/**
 * Runs `fn` in a span, child of the active one (or a new trace with `root`); the span ends when
 * `fn` settles, with an error status when it throws.
 */
export async function inSpan<T>(
  name: string,
  attributes: Attributes,
  fn: (span: Span) => Promise<T>,
  opts: { kind?: SpanKind; root?: boolean; links?: Link[] } = {},
): Promise<T> {
  const span = tracer().startSpan(
    name,
    { kind: opts.kind ?? SpanKind.INTERNAL, attributes, root: opts.root, links: opts.links },
    context.active(),
  );
  try {
    return await context.with(trace.setSpan(context.active(), span), () => fn(span));
  } catch (e) {
    failSpan(span, e);
    throw e;
  } finally {
    span.end();
  }
}

function failSpan(span: Span, e: unknown): void {
  span.recordException(e instanceof Error ? e : String(e));
  span.setStatus({
    code: SpanStatusCode.ERROR,
    message: e instanceof Error ? e.message : String(e),
  });
}

/** The trace context a message carries: its attributes first, else its envelope's metadata. */
export function messageContext(attributes: Record<string, string>, data: string): Context {
  const fromAttributes = propagator.extract(ROOT_CONTEXT, attributes, defaultTextMapGetter);
  if (trace.getSpanContext(fromAttributes)) return fromAttributes;
  try {
    const metadata = (JSON.parse(data) as { metadata?: unknown } | null)?.metadata;
    if (metadata && typeof metadata === 'object')
      return propagator.extract(ROOT_CONTEXT, metadata, defaultTextMapGetter);
  } catch {
    // not JSON: the handler rejects it; its span starts a trace of its own
  }
  return ROOT_CONTEXT;
}

/**
 * Handles a received message in a consumer span, child of the context the message carries (never
 * of what happens to be active: the in-process bus delivers inside the publisher's call). A
 * redelivery gets another span in the same trace.
 */
export function consumeMessage<T>(
  subscription: string,
  message: ReceivedMessage,
  handle: () => Promise<T>,
): Promise<T> {
  const a = message.attributes;
  return context.with(messageContext(a, message.data), () =>
    inSpan(
      `process ${a.type ?? 'message'}`,
      {
        'messaging.system': 'gcp_pubsub',
        'messaging.operation.type': 'process',
        'messaging.destination.subscription.name': subscription,
        'messaging.message.id': message.id,
        'messaging.gcp_pubsub.message.delivery_attempt': message.deliveryAttempt,
        ...(a.eventId ? { 'almanac.event_id': a.eventId } : {}),
        ...(a.type ? { 'almanac.event_type': a.type } : {}),
        ...(a.correlationId ? { 'almanac.run_id': a.correlationId } : {}),
      },
      handle,
      { kind: SpanKind.CONSUMER },
    ),
  );
}

/** What an event's span is tagged with: the event, its run, and the parts of its payload that place it. */
function eventAttributes(e: Envelope): Attributes {
  const attributes: Attributes = {
    'messaging.system': 'gcp_pubsub',
    'messaging.operation.type': 'send',
    'messaging.destination.name': topicFor(e.type),
    'almanac.event_type': e.type,
    'almanac.event_id': e.eventId,
    'almanac.run_id': e.correlationId,
  };
  const p = (e.payload ?? {}) as Record<string, unknown>;
  for (const key of ['computation', 'date', 'pass', 'batch', 'attempt', 'status'] as const) {
    const v = p[key];
    if (typeof v === 'string' || typeof v === 'number') attributes[`almanac.${key}`] = v;
  }
  return attributes;
}

/** A span per event being appended and published, and the event with its trace context. */
export interface EventSpan {
  event: Envelope;
  span: Span;
}

/**
 * Opens the producer span of an event and writes its trace context into the event's metadata
 * (unless the event carries one already). RunRequested opens a new trace, `run.request`, linked to
 * the active span if any (a scheduler's tick requests several runs: each is a trace of its own).
 */
export function startEventSpan(e: Envelope): EventSpan {
  const request = e.type === 'RunRequested';
  const active = trace.getSpanContext(context.active());
  const span = tracer().startSpan(
    request ? 'run.request' : `publish ${e.type}`,
    {
      kind: SpanKind.PRODUCER,
      attributes: eventAttributes(e),
      root: request,
      links: request && active ? [{ context: active }] : undefined,
    },
    context.active(),
  );
  const metadata = e.metadata ?? {};
  if (metadata.traceparent || metadata.traceId) return { event: e, span };
  const carrier: Record<string, string> = {};
  propagator.inject(trace.setSpan(ROOT_CONTEXT, span), carrier, defaultTextMapSetter);
  // no tracing set up: a no-op span has no valid context and nothing is injected
  if (!carrier.traceparent) return { event: e, span };
  return {
    event: { ...e, metadata: { ...metadata, ...carrier, traceId: span.spanContext().traceId } },
    span,
  };
}

/** Ends the spans of startEventSpan: `duplicates` were in the log already, `error` failed the call. */
export function endEventSpans(spans: EventSpan[], duplicates: Set<string>, error?: unknown): void {
  for (const { event, span } of spans) {
    span.setAttribute('almanac.duplicate', duplicates.has(event.eventId));
    if (error !== undefined) failSpan(span, error);
    span.end();
  }
}
