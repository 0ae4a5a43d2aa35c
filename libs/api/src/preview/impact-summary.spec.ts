import type { PreviewCell } from './impact-preview';
import { dateSpans, summarizeImpact } from './impact-summary';

const cell = (
  computation: string,
  date: string,
  prediction: PreviewCell['prediction'],
  more: Partial<PreviewCell> = {},
): PreviewCell => ({
  computation,
  date,
  pass: computation === 'B' ? 1 : 0,
  prediction,
  why: '',
  causes: [],
  upstream: [],
  blockedOn: [],
  emptyTable: null,
  ...more,
});

describe('summarizeImpact', () => {
  it('given consecutive and separate dates, when spanned, then runs of days are joined', () => {
    expect(dateSpans(['2026-01-03', '2026-01-01', '2026-01-02', '2026-01-05'])).toBe(
      '2026-01-01..2026-01-03, 2026-01-05',
    );
    expect(dateSpans(['2026-02-28', '2026-03-01'])).toBe('2026-02-28..2026-03-01');
    expect(dateSpans([])).toBe('');
  });

  it('given a cell with two causes, when summarized, then it counts under each', () => {
    const groups = summarizeImpact([
      cell('A', '2026-01-01', 'run', {
        causes: [
          { kind: 'code', files: ['computations/a.ts'] },
          { kind: 'data', table: 'orders' },
        ],
      }),
    ]);
    expect(groups.map((g) => g.text)).toEqual([
      'a code change in `computations/a.ts` re-runs A on 1 date (2026-01-01)',
      'changed data in table `orders` re-runs A on 1 date (2026-01-01)',
    ]);
  });

  it('given dependants two levels down, when summarized, then they count under the root cause; dates in 4+ spans are counted, not listed', () => {
    const dates = ['2026-01-01', '2026-01-03', '2026-01-05', '2026-01-07'];
    const cells = dates.flatMap((d) => [
      cell('A', d, 'run', { causes: [{ kind: 'data', table: 'orders' }] }),
      cell('B', d, 'maybe', { upstream: [{ computation: 'A', date: d }] }),
      cell('C', d, 'maybe', { pass: 2, upstream: [{ computation: 'B', date: d }] }),
    ]);
    const [data] = summarizeImpact(cells);
    expect(data.dependants).toEqual([
      { computation: 'B', dates },
      { computation: 'C', dates },
    ]);
    expect(data.text).toBe(
      'changed data in table `orders` re-runs A on 4 dates, and 2 dependants where results change: B on 4 dates, C on 4 dates',
    );
  });
});
