import { backfillIds, makeEvent, type Envelope } from '@almanac/contracts';
import { backfillProjection } from './backfill.projection';
import { fold } from './projection';

const BF = 'bf-20261201T000000Z-abc123';
const at = '2026-12-01T00:00:00.000Z';
const run = (date: string) => backfillIds.run(BF, date);
const env = (runId: string) => ({
  streamId: `run-${runId}`,
  correlationId: runId,
  causationId: null,
  producer: 'test',
  occurredAt: at,
});
const requested = makeEvent({
  type: 'BackfillRequested',
  eventId: backfillIds.requested(BF),
  streamId: backfillIds.stream(BF),
  correlationId: BF,
  causationId: null,
  producer: 'cli',
  occurredAt: at,
  payload: { backfillId: BF, from: '2026-01-30', to: '2026-02-02', concurrency: 2 },
});
const runRequested = (date: string) =>
  makeEvent({
    ...env(run(date)),
    type: 'RunRequested',
    eventId: `RunRequested:${run(date)}`,
    payload: { runId: run(date), date },
  });
const runCompleted = (
  date: string,
  status: 'completed' | 'failed',
  counts: { completed?: number; skipped?: number; failed?: number },
) =>
  makeEvent({
    ...env(run(date)),
    type: 'RunCompleted',
    eventId: `RunCompleted:${run(date)}`,
    payload: {
      runId: run(date),
      date,
      status,
      counts: { completed: 0, skipped: 0, blocked: 0, impossible: 0, failed: 0, ...counts },
      durationMs: 1,
    },
  });
const runRejected = (date: string) =>
  makeEvent({
    ...env(run(date)),
    type: 'RunRejected',
    eventId: `RunRejected:${run(date)}`,
    payload: { runId: run(date), date, code: 'invalid-request', message: 'no' },
  });
const view = (events: Envelope[]) => fold(backfillProjection, events)[BF];

describe('backfill progress projection', () => {
  it('given a request, counts its dates (across a month end) and none requested', () => {
    expect(view([requested])).toMatchObject({
      status: 'running',
      total: 4,
      counts: { requested: 0, completed: 0, skipped: 0, failed: 0 },
      dates: {},
    });
  });

  it('counts requested, completed (a computation ran), skipped (every one skipped) and failed dates', () => {
    const v = view([
      requested,
      runRequested('2026-01-30'),
      runRequested('2026-01-31'),
      runRequested('2026-02-01'),
      runCompleted('2026-01-30', 'completed', { completed: 1, skipped: 2 }),
      runCompleted('2026-01-31', 'completed', { skipped: 3 }),
      runCompleted('2026-02-01', 'failed', { failed: 1, skipped: 2 }),
    ]);
    expect(v.counts).toEqual({ requested: 3, completed: 1, skipped: 1, failed: 1 });
    expect(v.status).toBe('running');
    expect(v.dates['2026-01-31']).toEqual({ status: 'skipped', runId: run('2026-01-31') });
    expect(v.dates['2026-02-01'].status).toBe('failed');
  });

  it('ends failed when a date failed (a rejected run), completed otherwise; a duplicate end counts once', () => {
    const dates = ['2026-01-30', '2026-01-31', '2026-02-01', '2026-02-02'];
    const ok = [requested, ...dates.map(runRequested)];
    const ends = dates.map((d) => runCompleted(d, 'completed', { skipped: 1 }));
    const done = view([...ok, ...ends, ends[0]]);
    expect(done).toMatchObject({ status: 'completed', finishedAt: at });
    expect(done.counts).toEqual({ requested: 4, completed: 0, skipped: 4, failed: 0 });
    const failed = view([...ok, ...ends.slice(1), runRejected(dates[0])]);
    expect(failed).toMatchObject({ status: 'failed', counts: { failed: 1, skipped: 3 } });
  });

  it('ignores runs that are not its own', () => {
    const other = makeEvent({
      ...env('r1'),
      type: 'RunRequested',
      eventId: 'RunRequested:r1',
      payload: { runId: 'r1', date: '2026-01-30' },
    });
    expect(view([requested, other]).counts.requested).toBe(0);
  });
});
