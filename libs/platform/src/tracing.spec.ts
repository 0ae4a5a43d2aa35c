import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer } from 'node:http';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { SpanKind, trace } from '@opentelemetry/api';
import {
  InMemorySpanExporter,
  SimpleSpanProcessor,
  type ReadableSpan,
} from '@opentelemetry/sdk-trace-base';
import { eventIds, makeEvent, streams, topics, type Envelope } from '@almanac/contracts';
import { createSqliteEventStore, type EventStore } from '@almanac/eventlog';
import { createInProcessBus, type InProcessBus, type ReceivedMessage } from '@almanac/messaging';
import { EventPublisher } from './event-publisher';
import { AlmanacMetrics } from './metrics';
import { BusSubscriptions, newServiceStats, type ServiceContext } from './service-module';
import { createTracing, inSpan, initTracing, messageContext, TracingConfigError } from './tracing';
import type { TraceFileSpan } from './trace-file-exporter';

const REPO_ROOT = resolve(__dirname, '..', '..', '..');
const memory = new InMemorySpanExporter();
const tracing = initTracing({
  service: 'tracing-spec',
  env: {},
  processors: [new SimpleSpanProcessor(memory)],
});

const passReady = (runId: string, pass = 0): Envelope =>
  makeEvent({
    type: 'PassReady',
    eventId: eventIds.passReady(runId, pass),
    streamId: streams.run(runId),
    correlationId: runId,
    causationId: null,
    producer: 'planner',
    occurredAt: '2026-01-15T02:00:00.000Z',
    payload: { runId, date: '2026-01-15', pass, computations: ['A'] },
  });

const runRequested = (runId: string): Envelope =>
  makeEvent({
    type: 'RunRequested',
    eventId: eventIds.runRequested(runId),
    streamId: streams.run(runId),
    correlationId: runId,
    causationId: null,
    producer: 'api',
    occurredAt: '2026-01-15T01:59:00.000Z',
    payload: { runId, date: '2026-01-15' },
  });

const named = (name: string) => memory.getFinishedSpans().filter((s) => s.name === name);
const one = (name: string): ReadableSpan => {
  const spans = named(name);
  expect(`${name}: ${spans.length}`).toBe(`${name}: 1`);
  return spans[0];
};

describe('traces: the trace context travels with the event (ADR 0022)', () => {
  let store: EventStore;
  let bus: InProcessBus;
  let publisher: EventPublisher;
  let subscriptions: BusSubscriptions | undefined;

  beforeEach(() => {
    memory.reset();
    store = createSqliteEventStore(':memory:');
    bus = createInProcessBus({ redeliveryDelayMs: 0 });
    publisher = new EventPublisher(store, bus);
  });
  afterEach(async () => {
    await subscriptions?.beforeApplicationShutdown();
    subscriptions = undefined;
    await bus.close();
    await store.close();
  });
  afterAll(() => tracing.shutdown());

  /** the services' subscriptions (BusSubscriptions), on one topic, recording what they receive */
  async function subscribe(handle: (data: string) => Promise<void> = async () => undefined) {
    const received: ReceivedMessage[] = [];
    const ctx = {
      bus,
      stats: newServiceStats(),
      metrics: new AlmanacMetrics(),
    } as unknown as ServiceContext;
    // a raw subscription beside it shows the message as the bus carried it
    await bus.subscribe(topics.passes, 'spec.raw', async (m) => void received.push(m));
    subscriptions = new BusSubscriptions(ctx, [
      { topic: topics.passes, subscription: 'spec.passes', handle, concurrency: 1 },
    ]);
    await subscriptions.onApplicationBootstrap();
    return received;
  }

  it('an event appended in a span stores traceparent and traceId in its metadata, carries them as attributes, and is handled in a consumer span child of its producer span', async () => {
    const received = await subscribe();
    const traceId = await inSpan('request', {}, async (span) => {
      await publisher.publish([passReady('r1')]);
      return span.spanContext().traceId;
    });
    await bus.idle();
    await subscriptions!.beforeApplicationShutdown();

    const producer = one('publish PassReady');
    expect(producer.kind).toBe(SpanKind.PRODUCER);
    expect(producer.parentSpanContext?.spanId).toBe(one('request').spanContext().spanId);
    const traceparent = `00-${traceId}-${producer.spanContext().spanId}-01`;
    const [stored] = await store.readStream(streams.run('r1'));
    expect(stored.metadata).toEqual({ traceId, traceparent });
    expect(received).toHaveLength(1);
    expect(received[0].attributes).toMatchObject({ traceId, traceparent, type: 'PassReady' });
    expect(JSON.parse(received[0].data).metadata).toEqual({ traceId, traceparent });

    const consumer = one('process PassReady');
    expect(consumer.kind).toBe(SpanKind.CONSUMER);
    expect(consumer.spanContext().traceId).toBe(traceId);
    expect(consumer.parentSpanContext?.spanId).toBe(producer.spanContext().spanId);
    expect(consumer.attributes).toMatchObject({
      'messaging.destination.subscription.name': 'spec.passes',
      'almanac.event_id': 'PassReady:r1:0',
      'almanac.run_id': 'r1',
    });
  });

  it('a handler span is a child of the message, not of whatever span is active when the bus delivers', async () => {
    const other = await inSpan('another trace', {}, async (span) => span.spanContext());
    const producer = await inSpan('producer', {}, async (span) => span.spanContext());
    const data = JSON.stringify({ metadata: {} });
    const attributes = {
      type: 'PassReady',
      traceparent: `00-${producer.traceId}-${producer.spanId}-01`,
    };
    const ctx = {
      bus,
      stats: newServiceStats(),
      metrics: new AlmanacMetrics(),
    } as unknown as ServiceContext;
    const subs = new BusSubscriptions(ctx, [
      {
        topic: topics.passes,
        subscription: 'spec.direct',
        handle: async () => undefined,
        concurrency: 1,
      },
    ]);
    await subs.onApplicationBootstrap();
    // delivered from inside an unrelated span, as the in-process bus does from the publisher's call
    await inSpan('unrelated', {}, async () => {
      await bus.publish(topics.passes, [{ data, attributes }]);
      await bus.idle();
    });
    await subs.beforeApplicationShutdown();
    const consumer = one('process PassReady');
    expect(consumer.spanContext().traceId).toBe(producer.traceId);
    expect(consumer.parentSpanContext?.spanId).toBe(producer.spanId);
    expect(consumer.spanContext().traceId).not.toBe(other.traceId);
  });

  it('extracts the context from the attributes first, else from the envelope metadata', () => {
    const a = '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01';
    const b = '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01';
    const envelope = JSON.stringify({ metadata: { traceparent: b } });
    const spanOf = (attributes: Record<string, string>, data: string) =>
      trace.getSpanContext(messageContext(attributes, data));
    expect(spanOf({ traceparent: a }, envelope)).toMatchObject({
      traceId: '0af7651916cd43dd8448eb211c80319c',
      spanId: 'b7ad6b7169203331',
      isRemote: true,
    });
    // a message published before attributes carried the context (or by another producer)
    expect(spanOf({}, envelope)).toMatchObject({
      traceId: '4bf92f3577b34da6a3ce929d0e0e4736',
      spanId: '00f067aa0ba902b7',
    });
    expect(spanOf({}, 'this is not an event')).toBeUndefined();
    expect(spanOf({ traceparent: 'garbage' }, JSON.stringify({ metadata: {} }))).toBeUndefined();
  });

  it('RunRequested opens a trace of its own (run.request), linked to the span that requested it', async () => {
    const tick = await inSpan('scheduler.tick', {}, async (span) => {
      await publisher.publish([runRequested('r1'), runRequested('r2')]);
      return span.spanContext();
    });
    const requests = named('run.request');
    expect(requests).toHaveLength(2);
    for (const r of requests) {
      expect(r.parentSpanContext).toBeUndefined();
      expect(r.spanContext().traceId).not.toBe(tick.traceId);
      expect(r.links.map((l) => l.context.spanId)).toEqual([tick.spanId]);
    }
    const [r1] = await store.readStream(streams.run('r1'));
    const [r2] = await store.readStream(streams.run('r2'));
    expect(new Set([r1.metadata.traceId, r2.metadata.traceId])).toEqual(
      new Set(requests.map((r) => r.spanContext().traceId)),
    );
  });

  it('a duplicate append keeps the first trace context; a redelivered message gets another consumer span in the same trace', async () => {
    let calls = 0;
    await subscribe(async () => {
      if (++calls === 1) throw new Error('first delivery fails');
    });
    await inSpan('first', {}, () => publisher.publish([passReady('r1')]));
    await inSpan('second', {}, () => publisher.publish([passReady('r1')]));
    await bus.idle();
    await subscriptions!.beforeApplicationShutdown();

    const [first, second] = named('publish PassReady');
    expect(first.attributes['almanac.duplicate']).toBe(false);
    expect(second.attributes['almanac.duplicate']).toBe(true);
    const [stored] = await store.readStream(streams.run('r1'));
    expect(stored.metadata.traceparent).toBe(
      `00-${first.spanContext().traceId}-${first.spanContext().spanId}-01`,
    );
    const consumers = named('process PassReady');
    expect(calls).toBe(2);
    expect(consumers).toHaveLength(2);
    expect(consumers.map((c) => c.parentSpanContext?.spanId)).toEqual([
      first.spanContext().spanId,
      first.spanContext().spanId,
    ]);
    expect(consumers.map((c) => c.status.code)).toEqual([2, 0]); // ERROR, then UNSET
  });

  it('keeps trace context that an event already carries', async () => {
    const traceparent = '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01';
    const e = {
      ...passReady('r9'),
      metadata: { traceparent, traceId: '4bf92f3577b34da6a3ce929d0e0e4736' },
    };
    await inSpan('request', {}, () => publisher.publish([e]));
    const [stored] = await store.readStream(streams.run('r9'));
    expect(stored.metadata.traceparent).toBe(traceparent);
  });
});

describe('traces: exporters chosen by ALMANAC_TRACES', () => {
  it('rejects an unknown exporter and a file exporter without its file, naming the variable', () => {
    expect(() => createTracing({ service: 's', env: { ALMANAC_TRACES: 'zipkin' } })).toThrow(
      new TracingConfigError('ALMANAC_TRACES: expected one of off, otlp, file, got "zipkin"'),
    );
    expect(() => createTracing({ service: 's', env: { ALMANAC_TRACES: 'file' } })).toThrow(
      /ALMANAC_TRACES=file needs ALMANAC_TRACE_FILE/,
    );
    expect(createTracing({ service: 's', env: {} }).exporter).toBe('off');
  });

  it('file: each finished span is one JSON line, with its service, trace, parent and attributes', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'almanac-trace-file-'));
    try {
      const path = join(dir, 'spans.jsonl');
      const t = createTracing({
        service: 'worker',
        env: { ALMANAC_TRACES: 'file', ALMANAC_TRACE_FILE: path },
      });
      const parent = t.tracer.startSpan('parent');
      const child = t.tracer.startSpan(
        'child',
        { kind: SpanKind.CONSUMER, attributes: { 'almanac.batch': 3 } },
        trace.setSpan(messageContext({}, '{}'), parent),
      );
      child.end();
      parent.end();
      await t.shutdown();
      const lines = readFileSync(path, 'utf8')
        .trim()
        .split('\n')
        .map((l) => JSON.parse(l) as TraceFileSpan);
      expect(lines.map((l) => [l.name, l.service, l.kind])).toEqual([
        ['child', 'worker', 'CONSUMER'],
        ['parent', 'worker', 'INTERNAL'],
      ]);
      expect(lines[0].traceId).toBe(lines[1].traceId);
      expect(lines[0].parentSpanId).toBe(lines[1].spanId);
      expect(lines[1].parentSpanId).toBeNull();
      expect(lines[0].attributes).toEqual({ 'almanac.batch': 3 });
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('otlp: sends the spans to OTEL_EXPORTER_OTLP_ENDPOINT/v1/traces', async () => {
    const requests: Array<{ url: string; body: string }> = [];
    const server = createServer((req, res) => {
      let body = '';
      req.on('data', (c: Buffer) => (body += c.toString()));
      req.on('end', () => {
        requests.push({ url: req.url ?? '', body });
        res.writeHead(200, { 'content-type': 'application/json' }).end('{}');
      });
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
    try {
      const { port } = server.address() as { port: number };
      // in a process of its own: the exporter loads its HTTP agent with import(), which Jest's
      // module sandbox refuses
      const child = spawn(
        process.execPath,
        [
          '-e',
          `require('tsx/cjs/api').register();
           const { createTracing } = require('./libs/platform/src/tracing.ts');
           const t = createTracing({ service: 'executor', env: process.env });
           if (t.exporter !== 'otlp') throw new Error('exporter ' + t.exporter);
           t.tracer.startSpan('pass 0').end();
           t.shutdown().then(() => process.exit(0));`,
        ],
        {
          cwd: REPO_ROOT,
          env: {
            ...process.env,
            TSX_TSCONFIG_PATH: join(REPO_ROOT, 'tsconfig.json'),
            ALMANAC_TRACES: 'otlp',
            OTEL_EXPORTER_OTLP_ENDPOINT: `http://127.0.0.1:${port}`,
          },
          stdio: ['ignore', 'pipe', 'pipe'],
        },
      );
      let output = '';
      child.stderr!.on('data', (b: Buffer) => (output += b.toString()));
      const code = await new Promise<number | null>((r) => child.once('exit', r));
      expect(`${code} ${output}`).toBe('0 ');
      expect(requests.map((r) => r.url)).toEqual(['/v1/traces']);
      expect(requests[0].body).toContain('pass 0');
      expect(requests[0].body).toContain('executor');
    } finally {
      await new Promise((r) => server.close(r));
    }
  });
});
