import { makeEvent, type Envelope, type PayloadInput } from '@almanac/contracts';
import { fold } from './projection';
import { recentRunsProjection, runProjection } from './run.projection';

const at = (s: number) => new Date(Date.UTC(2026, 0, 15, 2, 0, s)).toISOString();
const date = '2026-01-15';
let n = 0;
function ev<T extends Parameters<typeof makeEvent>[0]['type']>(
  type: T,
  payload: PayloadInput<T>,
  s: number,
): Envelope {
  n++;
  return makeEvent({
    type,
    eventId: `${type}:${n}`,
    streamId: `run-${(payload as { runId: string }).runId}`,
    correlationId: (payload as { runId: string }).runId,
    causationId: null,
    producer: 'test',
    occurredAt: at(s),
    payload,
  } as Parameters<typeof makeEvent>[0]);
}
const COUNTS = { completed: 0, skipped: 0, blocked: 0, impossible: 0, failed: 0 };
/** run `id` requested at second `s` */
const requested = (id: string, s: number) => ev('RunRequested', { runId: id, date }, s);
const completed = (id: string, s: number, status: 'completed' | 'failed' = 'completed') =>
  ev('RunCompleted', { runId: id, date, status, counts: COUNTS, durationMs: 1000 }, s);
const rejected = (id: string, s: number) =>
  ev('RunRejected', { runId: id, date, code: 'invalid-request', message: 'no' }, s);
const passReady = (id: string, s: number) =>
  ev('PassReady', { runId: id, date, pass: 0, computations: [] }, s);

describe('recentRunsProjection: the runs still going and the last finished ones', () => {
  it('keeps every run still going and the `keep` finished runs requested last; counts the rest', () => {
    const view = fold(recentRunsProjection(2), [
      requested('r1', 1),
      requested('r2', 2),
      requested('r3', 3),
      requested('r4', 4),
      requested('r5', 5),
      completed('r1', 10),
      rejected('r2', 11),
      completed('r3', 12, 'failed'),
      completed('r4', 13),
    ]);
    // r1 and r2 are dropped (oldest requested first); r5 is still going
    expect(Object.keys(view.runs).sort()).toEqual(['r3', 'r4', 'r5']);
    expect(view.horizon).toEqual([at(2), 'r2']);
    expect(view.dropped).toEqual({ completed: 1, rejected: 1 });
    // a rejected run has no duration
    expect(view.droppedDurations).toEqual({ runs: 1, totalMs: 1000 });
  });

  it('drops a run at once when it finishes at or before the horizon, but keeps it while it runs', () => {
    const events = [
      requested('old', 1),
      requested('r2', 2),
      requested('r3', 3),
      completed('r2', 10),
      completed('r3', 11),
    ];
    const view = fold(recentRunsProjection(1), events);
    expect(view.horizon).toEqual([at(2), 'r2']);
    // requested before the horizon and still going: kept
    expect(Object.keys(view.runs).sort()).toEqual(['old', 'r3']);
    const after = fold(recentRunsProjection(1), [...events, completed('old', 12, 'failed')]);
    expect(Object.keys(after.runs)).toEqual(['r3']);
    expect(after.horizon).toEqual([at(2), 'r2']);
    expect(after.dropped).toEqual({ completed: 1, failed: 1 });
  });

  it('a kept run is the run projection of that run; late events of a dropped run change nothing', () => {
    const events = [
      requested('r1', 1),
      requested('r2', 2),
      passReady('r2', 3),
      completed('r1', 10),
      completed('r2', 11),
    ];
    const view = fold(recentRunsProjection(1), events);
    expect(view.runs.r2).toEqual(fold(runProjection, events).r2);
    const late = fold(recentRunsProjection(1), [...events, passReady('r1', 12)]);
    expect(late).toEqual(view);
  });

  it('names its bound, so that checkpoints folded with another bound are not used', () => {
    expect(recentRunsProjection(200).name).toBe('recent-runs(200)');
    expect(() => recentRunsProjection(0)).toThrow('keep must be a positive integer, got 0');
  });
});
