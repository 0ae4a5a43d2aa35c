import { makeEvent } from '@almanac/contracts';
import { decideRetention, expiredVersionsProjection, retentionCutoff } from './retention';
import { fold } from './projection';

const NOW = Date.UTC(2026, 11, 1, 12);
const DAY = 86_400_000;
const v = (version: string, daysAgo: number) => ({ version, lastWrittenAt: NOW - daysAgo * DAY });

describe('retention: which result versions expire (ADR 0018)', () => {
  const base = {
    computation: 'A',
    ttlDays: 30,
    today: '2026-12-01',
    inUseSince: NOW - DAY,
    expired: {},
    current: (date: string) => (date === '2026-10-01' ? 'r2/1' : null),
  };

  it('keeps ttlDays days before today: the cutoff is the first date kept', () => {
    expect(retentionCutoff('2026-12-01', 30)).toBe('2026-11-01');
    expect(retentionCutoff('2026-03-01', 1)).toBe('2026-02-28');
  });

  it('given versions of dates before and after the cutoff, expires every version of the old dates, the current one included', () => {
    const d = decideRetention({
      ...base,
      stored: [
        { date: '2026-10-31', versions: [v('r9/1', 20)] },
        { date: '2026-10-01', versions: [v('r2/1', 40), v('r1/1', 60)] },
        { date: '2026-11-01', versions: [v('r3/1', 20)] },
      ],
    });
    expect(d.cutoff).toBe('2026-11-01');
    expect(d.expire).toEqual([
      { date: '2026-10-01', versions: ['r1/1', 'r2/1'], current: 'r2/1' },
      { date: '2026-10-31', versions: ['r9/1'], current: null },
    ]);
    expect(d.remove).toEqual([
      { date: '2026-10-01', versions: ['r1/1', 'r2/1'] },
      { date: '2026-10-31', versions: ['r9/1'] },
    ]);
  });

  it('keeps a version of an old date written within inUseSince (a run of that date may be using it)', () => {
    const d = decideRetention({
      ...base,
      stored: [{ date: '2026-10-01', versions: [v('r2/1', 40), v('r5/1', 0.5)] }],
    });
    expect(d.expire).toEqual([{ date: '2026-10-01', versions: ['r2/1'], current: 'r2/1' }]);
    expect(d.remove).toEqual([{ date: '2026-10-01', versions: ['r2/1'] }]);
  });

  it('after a crash between the append and the delete: records nothing again, deletes what the log names', () => {
    const recorded = fold(expiredVersionsProjection, [
      makeEvent({
        type: 'ResultVersionsExpired',
        eventId: 'ResultVersionsExpired:A:2026-10-01:x',
        streamId: 'retention-A',
        correlationId: 'retention',
        causationId: null,
        producer: 'test',
        occurredAt: new Date(NOW).toISOString(),
        payload: {
          computation: 'A',
          date: '2026-10-01',
          versions: ['r1/1', 'r2/1'],
          current: 'r2/1',
          ttlDays: 30,
          cutoff: '2026-11-01',
        },
      }),
    ]);
    expect(recorded).toEqual({ 'A|2026-10-01': ['r1/1', 'r2/1'] });
    const d = decideRetention({
      ...base,
      expired: recorded,
      // ttlDays raised since: the date is kept now, yet what the log expired is still deleted
      ttlDays: 365,
      stored: [{ date: '2026-10-01', versions: [v('r1/1', 60), v('r2/1', 40)] }],
    });
    expect(d.expire).toEqual([]);
    expect(d.remove).toEqual([{ date: '2026-10-01', versions: ['r1/1', 'r2/1'] }]);
  });

  it('does nothing when nothing is old enough', () => {
    const d = decideRetention({
      ...base,
      stored: [{ date: '2026-11-15', versions: [v('r1/1', 10)] }],
    });
    expect(d).toEqual({ cutoff: '2026-11-01', expire: [], remove: [] });
  });
});
