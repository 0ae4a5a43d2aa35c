import { backfillIds, makeEvent, type Envelope } from '@almanac/contracts';
import { specificationFor } from '@almanac/testing';
import {
  backfillDecider,
  backfillDates,
  type AdvanceBackfill,
  type BackfillState,
} from './backfill.decider';

const BF = 'bf-20261201T000000Z-abc123';
const now = '2026-12-01T00:00:00.000Z';
const spec = specificationFor<AdvanceBackfill, Envelope, BackfillState>(backfillDecider);
const advance = (causationId = 'x'): AdvanceBackfill => ({
  type: 'AdvanceBackfill',
  causationId,
  now,
  process: 'embedded@host:1',
});
const base = (runId: string) => ({
  streamId: `run-${runId}`,
  correlationId: runId,
  causationId: null,
  producer: 'test',
  occurredAt: now,
});

const requested = (
  opts: { concurrency?: number; historical?: string[]; to?: string; id?: string } = {},
) =>
  makeEvent({
    type: 'BackfillRequested',
    eventId: backfillIds.requested(opts.id ?? BF),
    streamId: backfillIds.stream(opts.id ?? BF),
    correlationId: opts.id ?? BF,
    causationId: null,
    producer: 'cli',
    occurredAt: now,
    payload: {
      backfillId: opts.id ?? BF,
      from: '2026-01-01',
      to: opts.to ?? '2026-01-05',
      targets: ['B'],
      concurrency: opts.concurrency ?? 2,
      historical: opts.historical ?? [],
    },
  });
const runOf = (date: string, id = BF) => backfillIds.run(id, date);
const runRequested = (date: string, id = BF) =>
  makeEvent({
    ...base(runOf(date, id)),
    type: 'RunRequested',
    eventId: `RunRequested:${runOf(date, id)}`,
    payload: { runId: runOf(date, id), date, trigger: 'backfill' },
  });
const runCompleted = (date: string, status: 'completed' | 'failed' = 'completed') =>
  makeEvent({
    ...base(runOf(date)),
    type: 'RunCompleted',
    eventId: `RunCompleted:${runOf(date)}`,
    payload: {
      runId: runOf(date),
      date,
      status,
      counts: { completed: 1, skipped: 0, blocked: 0, impossible: 0, failed: 0 },
      durationMs: 1,
    },
  });
const runRejected = (date: string) =>
  makeEvent({
    ...base(runOf(date)),
    type: 'RunRejected',
    eventId: `RunRejected:${runOf(date)}`,
    payload: { runId: runOf(date), date, code: 'invalid-request', message: 'no' },
  });
const computationCompleted = (date: string, computation: string, status: 'completed' | 'failed') =>
  makeEvent({
    ...base(runOf(date)),
    type: 'ComputationCompleted',
    eventId: `ComputationCompleted:${runOf(date)}:${computation}`,
    payload: {
      runId: runOf(date),
      date,
      computation,
      pass: 0,
      status,
      reason: { code: 'first-run' },
      compositeHash: null,
      hashParts: null,
      resultHash: null,
      entities: { total: 0, succeeded: 0, failed: 0, saved: 0 },
      failedEntities: [],
      scoped: false,
      dryRun: false,
      forced: false,
      durationMs: 1,
    },
  });
const datesOf = (events: Envelope[]) =>
  events.map((e) => {
    expect(e.type).toBe('RunRequested');
    return (e as Envelope<'RunRequested'>).payload.date;
  });

describe('backfill decider', () => {
  it('lists the dates of a range in order, across a month end', () => {
    expect(backfillDates('2026-01-30', '2026-02-02')).toEqual([
      '2026-01-30',
      '2026-01-31',
      '2026-02-01',
      '2026-02-02',
    ]);
  });

  it('given a request for 5 dates with concurrency 2, requests the first 2 runs, their ids derived from (backfill, date)', () => {
    spec
      .given([requested()])
      .when(advance('BackfillRequested:x'))
      .then((events) => {
        expect(datesOf(events)).toEqual(['2026-01-01', '2026-01-02']);
        const first = events[0] as Envelope<'RunRequested'>;
        expect(first.eventId).toBe(`RunRequested:${BF}-2026-01-01`);
        expect(first.streamId).toBe(`run-${BF}-2026-01-01`);
        expect(first.causationId).toBe('BackfillRequested:x');
        expect(first.payload).toMatchObject({
          runId: `${BF}-2026-01-01`,
          targets: ['B'],
          trigger: 'backfill',
        });
        expect(first.metadata).toMatchObject({ backfillId: BF, process: 'embedded@host:1' });
      });
  });

  it('never opens more than `concurrency` runs: with 2 open, nothing more is requested', () => {
    spec
      .given([requested(), runRequested('2026-01-01'), runRequested('2026-01-02')])
      .when(advance())
      .then([]);
  });

  it('when a run ends, requests the next date only', () => {
    spec
      .given([
        requested(),
        runRequested('2026-01-01'),
        runRequested('2026-01-02'),
        runCompleted('2026-01-02'),
      ])
      .when(advance())
      .then((events) => expect(datesOf(events)).toEqual(['2026-01-03']));
  });

  it('a duplicate delivery requests nothing new: a redelivered RunCompleted, once its answer is in the log', () => {
    const history = [
      requested(),
      runRequested('2026-01-01'),
      runRequested('2026-01-02'),
      runCompleted('2026-01-01'),
      runCompleted('2026-01-01'),
    ];
    spec
      .given(history)
      .when(advance())
      .then((events) => expect(datesOf(events)).toEqual(['2026-01-03']));
    spec
      .given([...history, runRequested('2026-01-03')])
      .when(advance())
      .then([]);
    // two replicas deciding on the same log answer the same ids (the log keeps one)
    spec
      .given(history)
      .when(advance('other-cause'))
      .then((events) =>
        expect(events.map((e) => e.eventId)).toEqual([`RunRequested:${runOf('2026-01-03')}`]),
      );
  });

  it('a failed date (a failed or rejected run) frees its slot: the backfill goes on', () => {
    spec
      .given([
        requested(),
        runRequested('2026-01-01'),
        runRequested('2026-01-02'),
        runCompleted('2026-01-01', 'failed'),
        runRejected('2026-01-02'),
      ])
      .when(advance())
      .then((events) => expect(datesOf(events)).toEqual(['2026-01-03', '2026-01-04']));
  });

  it('requests nothing once every date was requested', () => {
    const dates = backfillDates('2026-01-01', '2026-01-05');
    spec
      .given([
        requested(),
        ...dates.map((d) => runRequested(d)),
        ...dates.map((d) => runCompleted(d)),
      ])
      .when(advance())
      .then([]);
  });

  it("ignores another backfill's runs", () => {
    const other = 'bf-20261201T000000Z-def456';
    spec
      .given([requested(), runRequested('2026-01-01', other), runRequested('2026-01-02', other)])
      .when(advance())
      .then((events) => expect(datesOf(events)).toEqual(['2026-01-01', '2026-01-02']));
  });

  describe('historical computations go in date order', () => {
    const hist = () => requested({ concurrency: 3, historical: ['H'] });

    it('requests only the first date while the previous date has not decided H', () => {
      spec
        .given([hist()])
        .when(advance())
        .then((events) => expect(datesOf(events)).toEqual(['2026-01-01']));
      spec
        .given([
          hist(),
          runRequested('2026-01-01'),
          computationCompleted('2026-01-01', 'A', 'completed'),
        ])
        .when(advance())
        .then([]);
    });

    it("requests the next date once the previous date's run decided H, while that run goes on", () => {
      spec
        .given([
          hist(),
          runRequested('2026-01-01'),
          computationCompleted('2026-01-01', 'H', 'completed'),
        ])
        .when(advance())
        .then((events) => expect(datesOf(events)).toEqual(['2026-01-02']));
    });

    it('a failed H, or a run that ended without deciding H (rejected), releases the next date', () => {
      spec
        .given([
          hist(),
          runRequested('2026-01-01'),
          computationCompleted('2026-01-01', 'H', 'failed'),
        ])
        .when(advance())
        .then((events) => expect(datesOf(events)).toEqual(['2026-01-02']));
      spec
        .given([hist(), runRequested('2026-01-01'), runRejected('2026-01-01')])
        .when(advance())
        .then((events) => expect(datesOf(events)).toEqual(['2026-01-02']));
    });

    it('still never exceeds the concurrency limit', () => {
      const h = requested({ concurrency: 2, historical: ['H'] });
      spec
        .given([
          h,
          runRequested('2026-01-01'),
          computationCompleted('2026-01-01', 'H', 'completed'),
          runRequested('2026-01-02'),
          computationCompleted('2026-01-02', 'H', 'completed'),
        ])
        .when(advance())
        .then([]);
    });
  });
});
