import { SpanKind } from '@opentelemetry/api';
import {
  InMemorySpanExporter,
  SimpleSpanProcessor,
  type ReadableSpan,
} from '@opentelemetry/sdk-trace-base';
import { initTracing } from '@almanac/platform';
import { ALL_COMPLETED, D, Fixture, statuses } from './fixture';

// before the engine opens: its initTracing finds this one and keeps it (the first call wins)
const memory = new InMemorySpanExporter();
const tracing = initTracing({
  service: 'embedded',
  env: {},
  processors: [new SimpleSpanProcessor(memory)],
});

// ADR 0022: the in-process bus carries the trace context too, so an embedded run is one trace.
describe('embedded engine: one run is one trace', () => {
  let f: Fixture;
  afterEach(async () => {
    await f.cleanup();
  });
  afterAll(() => tracing.shutdown());

  it('has a span per pass, per computation and per batch under the run.request root, and every event of the run names the trace', async () => {
    f = await Fixture.create();
    const engine = await f.open();
    const run = await engine.run({ date: D });
    const events = (await engine.store.readAll()).filter((e) => e.correlationId === run.runId);
    await f.close(); // in-flight handlers settle: their spans end
    expect(statuses(run)).toEqual(ALL_COMPLETED);

    const traceId = events[0].metadata.traceId!;
    expect(traceId).toMatch(/^[0-9a-f]{32}$/);
    expect(events.map((e) => [e.type, e.metadata.traceId])).toEqual(
      events.map((e) => [e.type, traceId]),
    );
    const spans = memory.getFinishedSpans().filter((s) => s.spanContext().traceId === traceId);
    const byId = new Map(spans.map((s) => [s.spanContext().spanId, s]));
    // connected: one root, and every other span's parent is in the trace
    const roots = spans.filter((s) => !s.parentSpanContext);
    expect(roots.map((s) => s.name)).toEqual(['run.request']);
    const orphans = spans.filter(
      (s) => s.parentSpanContext && !byId.has(s.parentSpanContext.spanId),
    );
    expect(orphans.map((s) => s.name)).toEqual([]);

    const names = (prefix: string) =>
      [...new Set(spans.filter((s) => s.name.startsWith(prefix)).map((s) => s.name))].sort();
    expect(names('plan')).toEqual(['plan']);
    expect(names('pass ')).toEqual(['pass 0', 'pass 1']);
    expect(names('computation ')).toEqual([
      'computation DailyVolume',
      'computation OrderTotals',
      'computation SignupInfo',
      'computation UserBand',
    ]);
    // batches of 2 over five users; a global computation runs in one batch
    expect(names('batch OrderTotals')).toEqual([
      'batch OrderTotals#0',
      'batch OrderTotals#1',
      'batch OrderTotals#2',
    ]);
    expect(names('batch DailyVolume')).toEqual(['batch DailyVolume#0']);

    // a batch hangs under its computation's decision and its pass, through the bus
    const ancestors = (s: ReadableSpan): string[] => {
      const parent = s.parentSpanContext && byId.get(s.parentSpanContext.spanId);
      return parent ? [parent.name, ...ancestors(parent)] : [];
    };
    const batch = spans.find((s) => s.name === 'batch OrderTotals#0')!;
    expect(ancestors(batch)).toEqual([
      'process BatchRequested',
      'publish BatchRequested',
      'computation OrderTotals',
      'pass 0',
      'process PassReady',
      'publish PassReady',
      'plan',
      'process RunRequested',
      'run.request',
    ]);
    // every event of the run was appended in a span of this trace, and handled in a child of it
    for (const e of events) {
      const producer = spans.find(
        (s) => s.kind === SpanKind.PRODUCER && s.attributes['almanac.event_id'] === e.eventId,
      );
      expect(`${e.eventId}: ${e.metadata.traceparent}`).toBe(
        `${e.eventId}: 00-${traceId}-${producer?.spanContext().spanId}-01`,
      );
    }
  });
});
