import type { HashIndex, HashIndexEntry } from '@almanac/domain/projections';
import { invalidationEvent, invalidationId, invalidationIssues } from './invalidation';

const KNOWN = ['OrderTotals', 'UserBand'];
const entry = (computation: string, date: string, runId: string) =>
  ({ computation, date, runId }) as HashIndexEntry;
const index = (runId: string): HashIndex => ({
  'OrderTotals|2026-01-10': entry('OrderTotals', '2026-01-10', runId),
  'OrderTotals|2026-02-01': entry('OrderTotals', '2026-02-01', 'other'),
});
const request = {
  computations: ['OrderTotals'],
  from: '2026-01-01',
  to: '2026-01-31',
  reason: 'reloaded',
  requestedBy: 'ops',
};

describe('invalidation requests (ADR 0018)', () => {
  it('accepts a valid request', () => {
    expect(invalidationIssues(request, KNOWN)).toEqual([]);
  });

  it('names what is missing or too long, field by field', () => {
    expect(invalidationIssues({}, KNOWN).map((i) => [i.path, i.code, i.message])).toEqual([
      ['computations', 'missing', 'name at least one computation to invalidate'],
      ['from', 'missing', 'from is required (YYYY-MM-DD)'],
      ['to', 'missing', 'to is required (YYYY-MM-DD)'],
      ['reason', 'missing', 'a reason is required: say why these results are not to be trusted'],
    ]);
    expect(invalidationIssues({ ...request, reason: 'x'.repeat(1001) }, KNOWN)).toEqual([
      {
        path: 'reason',
        code: 'invalid-range',
        message: 'the reason is longer than 1000 characters',
      },
    ]);
  });

  it('derives the id from the request and the current results it covers', () => {
    const id = invalidationId(request, index('r1'));
    expect(id).toMatch(/^inv-[0-9a-f]{24}$/);
    // the same request, names repeated or reordered, reason padded: the same invalidation
    expect(
      invalidationId(
        { ...request, computations: ['OrderTotals', 'OrderTotals'], reason: ' reloaded ' },
        index('r1'),
      ),
    ).toBe(id);
    // results outside the range do not count; a re-computed result in it does
    expect(
      invalidationId(request, {
        ...index('r1'),
        'OrderTotals|2026-02-01': entry('OrderTotals', '2026-02-01', 'x'),
      }),
    ).toBe(id);
    expect(invalidationId(request, index('r2'))).not.toBe(id);
    expect(invalidationId({ ...request, requestedBy: 'someone' }, index('r1'))).not.toBe(id);
  });

  it('builds the event with the trimmed reason and sorted names, or throws before building it', () => {
    const e = invalidationEvent(
      { ...request, computations: ['UserBand', 'OrderTotals'], reason: ' reloaded ' },
      KNOWN,
      index('r1'),
      new Date('2026-12-01T10:00:00Z'),
      'cli',
    );
    expect(e).toMatchObject({
      type: 'ComputationsInvalidated',
      eventId: `ComputationsInvalidated:${e.payload.invalidationId}`,
      streamId: `invalidation-${e.payload.invalidationId}`,
      occurredAt: '2026-12-01T10:00:00.000Z',
      payload: { computations: ['OrderTotals', 'UserBand'], reason: 'reloaded' },
    });
    expect(() =>
      invalidationEvent({ ...request, to: '2025-12-31' }, KNOWN, {}, new Date(), 'cli'),
    ).toThrow('to 2025-12-31 is before from 2026-01-01');
  });
});
