import { makeEvent, type Envelope, type PayloadInput } from '@almanac/contracts';
import { fold, runProjection } from '@almanac/domain/projections';
import { runSummary, timelineEntry } from './api-queries';

// the export of a run's results (ADR 0026) in what the api answers: GET /runs/:id and its timeline
const date = '2026-01-15';
let n = 0;
function ev<T extends Parameters<typeof makeEvent>[0]['type']>(
  type: T,
  payload: PayloadInput<T>,
): Envelope {
  n++;
  return makeEvent({
    type,
    eventId: `${type}:${n}`,
    streamId: 'run-r1',
    correlationId: 'r1',
    causationId: null,
    producer: 'test',
    occurredAt: new Date(Date.UTC(2026, 0, 15, 2, 0, n)).toISOString(),
    payload,
  } as Parameters<typeof makeEvent>[0]);
}
const target = { runId: 'r1', date, version: 'r1/1', table: 'p.d.results' };
const events = [
  ev('RunRequested', { runId: 'r1', date }),
  ev('RunPlanned', {
    runId: 'r1',
    date,
    epoch: '1',
    passes: [['A', 'B']],
    computations: [
      { name: 'A', pass: 0, type: 'per-entity', dependencies: [], codeHash: 'c1' },
      { name: 'B', pass: 0, type: 'per-entity', dependencies: [], codeHash: 'c2' },
    ],
    force: false,
    dryRun: false,
  }),
  ev('ResultsExported', { ...target, computation: 'A', rows: 3, durationMs: 7 }),
  ev('ResultsExportFailed', {
    ...target,
    computation: 'B',
    attempt: 2,
    error: 'dataset p.d does not exist',
    retryable: false,
  }),
];

describe('results export in the run status and timeline', () => {
  it("lists each computation's recorded export in the run summary", () => {
    const summary = runSummary(fold(runProjection, events).r1, Date.UTC(2026, 0, 15, 3));
    expect(summary.exports).toEqual([
      {
        computation: 'A',
        status: 'exported',
        version: 'r1/1',
        table: 'p.d.results',
        rows: 3,
        at: events[2].occurredAt,
      },
      {
        computation: 'B',
        status: 'failed',
        version: 'r1/1',
        table: 'p.d.results',
        attempt: 2,
        error: 'dataset p.d does not exist',
        retryable: false,
        at: events[3].occurredAt,
      },
    ]);
  });

  it('says in one line per event what was exported and what failed', () => {
    const stored = (e: Envelope, i: number) => ({
      ...e,
      streamVersion: i + 1,
      position: String(i),
      recordedAt: e.occurredAt,
    });
    expect(events.slice(2).map((e, i) => timelineEntry(stored(e, i)).summary)).toEqual([
      'A 2026-01-15: version r1/1 exported to p.d.results (3 rows)',
      'B 2026-01-15: export of version r1/1 to p.d.results failed (attempt 2): dataset p.d does not exist',
    ]);
  });
});
