import { AsyncLocalStorage } from 'node:async_hooks';
import {
  context,
  ROOT_CONTEXT,
  trace,
  TraceFlags,
  type Context,
  type ContextManager,
} from '@opentelemetry/api';
import { makeEvent } from '@almanac/contracts';
import { logEvents } from './event-log-lines';
import {
  cliLogFormat,
  computationLogSink,
  createLogger,
  InvalidLogFormatError,
  messageLogContext,
  serviceLogFormat,
  withLogContext,
  LABELS_FIELD,
  SPAN_FIELD,
  TRACE_FIELD,
  type LogFormat,
} from './logger';

type Line = Record<string, unknown> & { [LABELS_FIELD]: Record<string, string> };

function capture(format: LogFormat = 'json', level = 'debug') {
  const lines: string[] = [];
  const logger = createLogger({
    service: 'worker',
    format,
    level,
    projectId: 'my-project',
    write: (l) => lines.push(l),
  });
  return { logger, lines, parsed: () => lines.map((l) => JSON.parse(l) as Line) };
}

const TRACE = '4bf92f3577b34da6a3ce929d0e0e4736';
const SPAN = '00f067aa0ba902b7';

describe('structured logs (Cloud Logging fields)', () => {
  it('writes severity, message, an ISO time and the service label; pino levels map to LogSeverity', () => {
    const { logger, parsed } = capture();
    logger.debug('d');
    logger.info('i');
    logger.warn('w');
    logger.error('e');
    logger.fatal('f');
    const lines = parsed();
    expect(lines.map((l) => [l.severity, l.message])).toEqual([
      ['DEBUG', 'd'],
      ['INFO', 'i'],
      ['WARNING', 'w'],
      ['ERROR', 'e'],
      ['CRITICAL', 'f'],
    ]);
    expect(lines[0].time).toMatch(/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/);
    expect(lines[0][LABELS_FIELD]).toEqual({ service: 'worker' });
    // no pino level number, pid or hostname: Cloud Logging would index them as payload
    expect(Object.keys(lines[0]).sort()).toEqual(
      ['message', 'severity', 'time', LABELS_FIELD].sort(),
    );
  });

  it('drops lines under its level', () => {
    const { logger, parsed } = capture('json', 'info');
    logger.debug('hidden');
    logger.info('shown');
    expect(parsed().map((l) => l.message)).toEqual(['shown']);
  });

  it("labels a line with the handled message's run, computation and batch, and the call's own labels over them", () => {
    const { logger, parsed } = capture();
    const envelope = makeEvent({
      type: 'BatchRequested',
      eventId: 'BatchRequested:r1:A:1:3:0',
      streamId: 'run-r1-A#b3',
      correlationId: 'r1',
      causationId: null,
      producer: 'executor',
      occurredAt: '2026-01-15T02:00:00.000Z',
      payload: {
        runId: 'r1',
        date: '2026-01-15',
        computation: 'A',
        attempt: 1,
        batch: 3,
        entityIds: ['u1'],
        dryRun: false,
      },
    });
    const ctx = messageLogContext(JSON.stringify(envelope), 'worker');
    expect(ctx.type).toBe('BatchRequested');
    withLogContext(ctx, () => {
      logger.info('inside');
      logger.info({ labels: { entity: 'u7', batch: '9' }, extra: 1 }, 'own labels');
    });
    logger.info('outside');
    const [inside, own, outside] = parsed();
    expect(inside[LABELS_FIELD]).toEqual({
      service: 'worker',
      run: 'r1',
      computation: 'A',
      batch: '3',
    });
    expect(own[LABELS_FIELD]).toEqual({
      service: 'worker',
      run: 'r1',
      computation: 'A',
      batch: '9',
      entity: 'u7',
    });
    expect(own.extra).toBe(1);
    expect(own).not.toHaveProperty('labels');
    expect(outside[LABELS_FIELD]).toEqual({ service: 'worker' });
    // no trace known: no trace field
    expect(inside).not.toHaveProperty(TRACE_FIELD);
  });

  it('keeps the context across awaits of the handling', async () => {
    const { logger, parsed } = capture();
    await withLogContext({ labels: { run: 'r2' } }, async () => {
      await new Promise((r) => setTimeout(r, 5));
      logger.info('later');
    });
    expect(parsed()[0][LABELS_FIELD]).toMatchObject({ run: 'r2' });
  });

  it("gives the envelope's trace id (bare or as a traceparent) as projects/<project>/traces/<id>", () => {
    const { logger, parsed } = capture();
    const bare = messageLogContext(
      JSON.stringify({ correlationId: 'r', metadata: { traceId: TRACE } }),
    );
    withLogContext(bare, () => logger.info('bare'));
    withLogContext({ labels: {}, traceId: `00-${TRACE}-${SPAN}-01` }, () => logger.info('parent'));
    const [a, b] = parsed();
    expect(a[TRACE_FIELD]).toBe(`projects/my-project/traces/${TRACE}`);
    expect(b[TRACE_FIELD]).toBe(`projects/my-project/traces/${TRACE}`);
    expect(a).not.toHaveProperty(SPAN_FIELD);
  });

  it('gives the trace id without a project when none is configured', () => {
    const lines: string[] = [];
    const logger = createLogger({ service: 'cli', format: 'json', write: (l) => lines.push(l) });
    withLogContext({ labels: {}, traceId: TRACE }, () => logger.info('x'));
    expect(JSON.parse(lines[0])[TRACE_FIELD]).toBe(TRACE);
  });

  describe('with an active OpenTelemetry span', () => {
    // the SDK's AsyncLocalStorage context manager in a few lines (the SDK is not a dependency here)
    class TestContextManager implements ContextManager {
      private readonly als = new AsyncLocalStorage<Context>();
      active = () => this.als.getStore() ?? ROOT_CONTEXT;
      with<A extends unknown[], F extends (...args: A) => ReturnType<F>>(
        ctx: Context,
        fn: F,
        thisArg?: ThisParameterType<F>,
        ...args: A
      ): ReturnType<F> {
        return this.als.run(ctx, () => fn.apply(thisArg, args));
      }
      bind<T>(_ctx: Context, target: T): T {
        return target;
      }
      enable = () => this;
      disable = () => this;
    }
    beforeAll(() => context.setGlobalContextManager(new TestContextManager()));
    afterAll(() => context.disable());

    it("takes the span's trace and span ids over the envelope's", () => {
      const { logger, parsed } = capture();
      const span = trace.wrapSpanContext({
        traceId: TRACE,
        spanId: SPAN,
        traceFlags: TraceFlags.SAMPLED,
      });
      withLogContext({ labels: {}, traceId: 'ffffffffffffffffffffffffffffffff' }, () =>
        context.with(trace.setSpan(context.active(), span), () => logger.info('in span')),
      );
      const [line] = parsed();
      expect(line[TRACE_FIELD]).toBe(`projects/my-project/traces/${TRACE}`);
      expect(line[SPAN_FIELD]).toBe(SPAN);
      expect(line['logging.googleapis.com/trace_sampled']).toBe(true);
    });

    it("writes a decision line in its event's trace (the span that appended it), not the active span's", () => {
      const { logger, parsed } = capture();
      const active = trace.wrapSpanContext({
        traceId: 'ffffffffffffffffffffffffffffffff',
        spanId: 'ffffffffffffffff',
        traceFlags: TraceFlags.SAMPLED,
      });
      const event = makeEvent({
        type: 'RunRequested',
        eventId: 'RunRequested:r1',
        streamId: 'run-r1',
        correlationId: 'r1',
        causationId: null,
        occurredAt: '2026-01-15T02:00:00.000Z',
        producer: 'api',
        metadata: { traceId: TRACE, traceparent: `00-${TRACE}-${SPAN}-01` },
        payload: {
          runId: 'r1',
          date: '2026-01-15',
          targets: [],
          force: false,
          dryRun: false,
          trigger: 'manual',
          requestedBy: 'tester',
        },
      } as Parameters<typeof makeEvent>[0]);
      context.with(trace.setSpan(context.active(), active), () => logEvents(logger, [event]));
      const [line] = parsed();
      expect(line.message).toBe('run requested for 2026-01-15');
      expect(line[TRACE_FIELD]).toBe(`projects/my-project/traces/${TRACE}`);
      expect(line[SPAN_FIELD]).toBe(SPAN);
      expect(line).not.toHaveProperty('traceparent');
    });
  });

  it("writes a computation's this.log() line at its level, labelled with the computation and entity", () => {
    const { logger, parsed } = capture();
    const sink = computationLogSink(logger);
    withLogContext({ labels: { run: 'r1', batch: '0' } }, () => {
      sink({ level: 'WARN', computation: 'A', entityId: 'u1', message: 'no prices' });
      sink({ level: 'DEBUG', computation: 'A', entityId: 'u2', message: 'detail' });
    });
    const [warn, debug] = parsed();
    expect(warn).toMatchObject({ severity: 'WARNING', message: 'no prices' });
    expect(warn[LABELS_FIELD]).toEqual({
      service: 'worker',
      run: 'r1',
      batch: '0',
      computation: 'A',
      entity: 'u1',
    });
    expect(debug.severity).toBe('DEBUG');
  });

  it('prints one readable line a record in the human format', () => {
    const { logger, lines } = capture('human');
    withLogContext({ labels: { run: 'r1', computation: 'A' } }, () =>
      logger.warn({ durationMs: 12 }, 'batch failed'),
    );
    expect(lines[0]).toMatch(
      /^\d{4}-\d{2}-\d{2}T\S+ WARNING worker \[run=r1 computation=A\] batch failed \(durationMs=12\)\n$/,
    );
  });
});

describe('which format', () => {
  it('services: ALMANAC_LOG_FORMAT, else human on a terminal and JSON otherwise', () => {
    expect(serviceLogFormat(undefined, false)).toBe('json');
    expect(serviceLogFormat(undefined, true)).toBe('human');
    expect(serviceLogFormat('json', true)).toBe('json');
    expect(serviceLogFormat('human', false)).toBe('human');
  });

  it('the CLI: --log-format, else ALMANAC_LOG_FORMAT, else human', () => {
    expect(cliLogFormat(undefined, {})).toBe('human');
    expect(cliLogFormat(undefined, { ALMANAC_LOG_FORMAT: 'json' })).toBe('json');
    expect(cliLogFormat('human', { ALMANAC_LOG_FORMAT: 'json' })).toBe('human');
    expect(() => cliLogFormat('xml', {})).toThrow(InvalidLogFormatError);
    expect(() => cliLogFormat('xml', {})).toThrow('--log-format must be json or human, got "xml"');
  });
});

describe('decision lines', () => {
  const base = {
    correlationId: 'r1',
    causationId: null,
    occurredAt: '2026-01-15T02:00:00.000Z',
  };
  it('logs a failed computation as an error with its reason, labelled with the run and computation', () => {
    const { logger, parsed } = capture();
    logEvents(logger, [
      makeEvent({
        ...base,
        type: 'ComputationCompleted',
        eventId: 'ComputationCompleted:r1:A',
        streamId: 'run-r1-A',
        producer: 'executor',
        payload: {
          runId: 'r1',
          date: '2026-01-15',
          computation: 'A',
          pass: 0,
          status: 'failed',
          reason: { code: 'circuit-open', message: '6 of 20 batches failed' },
          compositeHash: null,
          hashParts: null,
          resultHash: null,
          entities: { total: 10, succeeded: 0, failed: 10, saved: 0 },
          failedEntities: [],
          scoped: false,
          dryRun: false,
          forced: false,
          durationMs: 5,
        },
      }),
      makeEvent({
        ...base,
        type: 'ExecutionClaimed',
        eventId: 'ExecutionClaimed:r1:A',
        streamId: 'claim-A',
        producer: 'executor',
        payload: { runId: 'r1', date: '2026-01-15', computation: 'A' },
      }),
      makeEvent({
        ...base,
        type: 'BatchDone',
        eventId: 'BatchDone:r1:A:1:2:0',
        streamId: 'run-r1-A#b2',
        producer: 'worker',
        payload: {
          runId: 'r1',
          date: '2026-01-15',
          computation: 'A',
          attempt: 1,
          batch: 2,
          processed: 0,
          saved: 0,
          failures: [],
          error: 'table "orders" has no column "amount"',
          permanent: true,
          durationMs: 3,
        },
      }),
    ]);
    const lines = parsed();
    expect(lines).toHaveLength(2);
    expect(lines[0]).toMatchObject({
      severity: 'ERROR',
      message: 'computation failed: circuit-open: 6 of 20 batches failed',
      event: 'ComputationCompleted',
    });
    expect(lines[0][LABELS_FIELD]).toEqual({ service: 'executor', run: 'r1', computation: 'A' });
    expect(lines[1]).toMatchObject({
      severity: 'WARNING',
      message: 'batch failed (permanent): table "orders" has no column "amount"',
    });
    expect(lines[1][LABELS_FIELD]).toEqual({
      service: 'worker',
      run: 'r1',
      computation: 'A',
      batch: '2',
    });
  });

  it('logs a results export as info and a failed attempt as a warning (retryable) or an error', () => {
    const { logger, parsed } = capture();
    const target = {
      runId: 'r1',
      date: '2026-01-15',
      computation: 'A',
      version: 'r1/1',
      table: 'p.d.results',
    };
    const failed = (attempt: number, retryable: boolean) =>
      makeEvent({
        ...base,
        type: 'ResultsExportFailed',
        eventId: `ResultsExportFailed:A:2026-01-15:r1/1:${attempt}`,
        streamId: 'run-r1',
        producer: 'executor',
        payload: { ...target, attempt, error: 'dataset p.d does not exist', retryable },
      });
    logEvents(logger, [
      failed(1, true),
      failed(2, false),
      makeEvent({
        ...base,
        type: 'ResultsExported',
        eventId: 'ResultsExported:A:2026-01-15:r1/1',
        streamId: 'run-r1',
        producer: 'executor',
        payload: { ...target, rows: 3, durationMs: 40 },
      }),
    ]);
    expect(parsed().map((l) => [l.severity, l.message])).toEqual([
      [
        'WARNING',
        'results export of version r1/1 to p.d.results failed (attempt 1): dataset p.d does not exist',
      ],
      [
        'ERROR',
        'results export of version r1/1 to p.d.results failed (attempt 2): dataset p.d does not exist',
      ],
      ['INFO', 'results version r1/1 exported to p.d.results'],
    ]);
    expect(parsed()[2]).toMatchObject({ rows: 3, durationMs: 40 });
  });
});
