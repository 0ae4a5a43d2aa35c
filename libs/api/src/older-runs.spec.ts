import { makeEvent, type PayloadInput } from '@almanac/contracts';
import type { StoredEvent } from '@almanac/eventlog';
import { readDroppedRuns } from './older-runs';

const at = (s: number) => new Date(Date.UTC(2026, 0, 15, 2, 0, s)).toISOString();
const COUNTS = { completed: 0, skipped: 0, blocked: 0, impossible: 0, failed: 0 };

/** A log in memory, read a few events at a time as the stores page it. */
function log(events: Array<Parameters<typeof makeEvent>[0]>) {
  const stored = events.map(
    (e, i) =>
      ({
        ...makeEvent(e),
        position: String(i + 1).padStart(4, '0'),
        streamVersion: 1,
        recordedAt: e.occurredAt,
      }) as StoredEvent,
  );
  const reads: number[] = [];
  return {
    reads,
    readAll: async ({ after, limit }: { after?: string; limit?: number }) => {
      const page = stored.filter((e) => !after || e.position > after).slice(0, limit);
      reads.push(page.length);
      return page;
    },
  };
}
let n = 0;
function ev<T extends Parameters<typeof makeEvent>[0]['type']>(
  type: T,
  payload: PayloadInput<T>,
  s: number,
) {
  const runId = (payload as { runId: string }).runId;
  return {
    type,
    eventId: `${type}:${++n}`,
    streamId: `run-${runId}`,
    correlationId: runId,
    causationId: null,
    producer: 'test',
    occurredAt: at(s),
    payload,
  } as Parameters<typeof makeEvent>[0];
}
const run = (id: string, s: number, date: string, status: 'completed' | 'failed', named = 'A') => [
  ev('RunRequested', { runId: id, date, targets: [] }, s),
  ev(
    'RunPlanned',
    {
      runId: id,
      date,
      epoch: '1',
      passes: [[named]],
      computations: [
        { name: named, pass: 0, type: 'global', dependencies: [], codeHash: 'h', codeFiles: {} },
      ],
      force: false,
      dryRun: false,
    },
    s,
  ),
  ev('RunCompleted', { runId: id, date, status, counts: COUNTS, durationMs: 1 }, s + 1),
];

describe('readDroppedRuns: the finished runs a page shows past the live views', () => {
  const events = [
    ...run('r1', 10, '2026-01-14', 'completed'),
    ...run('r2', 20, '2026-01-15', 'failed', 'B'),
    ...run('r3', 30, '2026-01-15', 'completed'),
    ...run('r4', 40, '2026-01-16', 'completed'),
    // still going: the live views hold it
    ev('RunRequested', { runId: 'r5', date: '2026-01-16' }, 5),
  ];
  const horizon: [string, string] = [at(30), 'r3'];

  it('given a horizon and a cursor, the newest matching runs at or before both, paged', async () => {
    const l = log(events);
    const q = { horizon, before: null, skip: new Set<string>(), limit: 2, pageSize: 4 };
    expect(await readDroppedRuns(l, q)).toEqual([
      [at(30), 'r3'],
      [at(20), 'r2'],
    ]);
    expect(l.reads).toEqual([4, 4, 4, 1]);
    expect(await readDroppedRuns(l, { ...q, before: [at(20), 'r2'] })).toEqual([[at(10), 'r1']]);
  });

  it('filters by status, dates and the computation the plan named; leaves out what it is told to', async () => {
    const q = { horizon, before: null, skip: new Set<string>(), limit: 10 };
    const ids = async (extra: object) =>
      (await readDroppedRuns(log(events), { ...q, ...extra })).map(([, id]) => id);
    expect(await ids({ status: ['failed'] })).toEqual(['r2']);
    expect(await ids({ from: '2026-01-15', to: '2026-01-15' })).toEqual(['r3', 'r2']);
    expect(await ids({ computation: 'B' })).toEqual(['r2']);
    expect(await ids({ skip: new Set(['r3']) })).toEqual(['r2', 'r1']);
  });
});
