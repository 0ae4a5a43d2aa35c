import { makeEvent, type Envelope, type PayloadInput } from '@almanac/contracts';
import { fold, runProjection, type RunView } from '@almanac/domain/projections';
import { findStalled } from './stalled';

const date = '2026-01-15';
const t = (s: number) => new Date(Date.UTC(2026, 0, 15, 2, 0, 0) + s * 1000).toISOString();
let n = 0;
function ev<T extends Parameters<typeof makeEvent>[0]['type']>(
  type: T,
  at: number,
  payload: PayloadInput<T>,
): Envelope {
  n++;
  return makeEvent({
    type,
    eventId: `${type}:${n}`,
    streamId: 'run-r',
    correlationId: 'r',
    causationId: null,
    producer: 'test',
    occurredAt: t(at),
    payload,
  } as Parameters<typeof makeEvent>[0]);
}
const planned = [
  ev('RunRequested', 0, { runId: 'r', date }),
  ev('RunPlanned', 0, {
    runId: 'r',
    date,
    epoch: '1',
    passes: [['A', 'B'], ['C']],
    computations: [
      { name: 'A', pass: 0, type: 'per-entity', dependencies: [], codeHash: 'a' },
      { name: 'B', pass: 0, type: 'global', dependencies: [], codeHash: 'b' },
      { name: 'C', pass: 1, type: 'per-entity', dependencies: ['A'], codeHash: 'c' },
    ],
    force: false,
    dryRun: false,
  }),
  ev('PassReady', 1, { runId: 'r', date, pass: 0, computations: ['A', 'B'] }),
];
const started = (name: string, at: number) =>
  ev('ComputationStarted', at, {
    runId: 'r',
    date,
    computation: name,
    pass: 0,
    attempt: 1,
    owner: 'executor-1',
    leaseExpiresAt: t(at + 3600),
    compositeHash: 'h',
    hashParts: { code: 'c', epoch: '1', inputs: {}, dependencies: {}, previous: null, scope: null },
    entityCount: 10,
    batchCount: 2,
    scoped: false,
    dryRun: false,
    forced: false,
    reason: { code: 'first-run' },
  });
const batchDone = (name: string, at: number) =>
  ev('BatchDone', at, {
    runId: 'r',
    date,
    computation: name,
    attempt: 1,
    batch: 0,
    processed: 5,
    saved: 5,
    failures: [],
    durationMs: 1,
  });
const skipped = (name: string, at: number) =>
  ev('ComputationCompleted', at, {
    runId: 'r',
    date,
    computation: name,
    pass: 0,
    status: 'skipped',
    reason: { code: 'unchanged', compositeHash: 'h' },
    compositeHash: 'h',
    hashParts: null,
    resultHash: 'r',
    entities: { total: 0, succeeded: 0, failed: 0, saved: 0 },
    failedEntities: [],
    scoped: false,
    dryRun: false,
    forced: false,
    durationMs: 1,
  });
const runOf = (events: Envelope[]): RunView => fold(runProjection, events).r;

describe('findStalled (zombie detection)', () => {
  it('given a computation started 30 s ago with progress 5 s ago, when the threshold is 10 s, then nothing is stalled', () => {
    const run = runOf([...planned, started('A', 2), batchDone('A', 27), skipped('B', 3)]);
    expect(findStalled(run, t(32), 10_000)).toEqual({
      takeOver: [],
      start: [],
      advance: false,
      waiting: [],
    });
  });

  it('given no progress for the threshold, then the computation is taken over', () => {
    const run = runOf([...planned, started('A', 2), batchDone('A', 5), skipped('B', 3)]);
    expect(findStalled(run, t(15), 10_000)).toEqual({
      takeOver: ['A'],
      start: [],
      advance: false,
      waiting: [],
    });
    expect(findStalled(run, t(14), 10_000).takeOver).toEqual([]);
  });

  it('given a pass made ready long ago with a computation never started, then it is started', () => {
    const run = runOf([...planned, skipped('B', 3)]);
    expect(findStalled(run, t(20), 10_000)).toEqual({
      takeOver: [],
      start: ['A'],
      advance: false,
      waiting: [],
    });
  });

  it('given every computation of the pass decided and the run not moved on, then it is advanced', () => {
    const run = runOf([...planned, skipped('A', 2), skipped('B', 3)]);
    expect(findStalled(run, t(5), 10_000).advance).toBe(false);
    expect(findStalled(run, t(13), 10_000).advance).toBe(true);
  });

  it('ignores finished runs', () => {
    const done = ev('RunCompleted', 9, {
      runId: 'r',
      date,
      status: 'completed',
      counts: { completed: 0, skipped: 3, blocked: 0, impossible: 0, failed: 0 },
      durationMs: 9,
    });
    expect(findStalled(runOf([...planned, started('A', 2), done]), t(100), 10_000)).toEqual({
      takeOver: [],
      start: [],
      advance: false,
      waiting: [],
    });
  });

  it('lists the computations waiting for another run, whatever their age (the sweep checks that run)', () => {
    const delegated = ev('ComputationDelegated', 2, {
      runId: 'r',
      date,
      computation: 'A',
      pass: 0,
      to: 'other',
    });
    const run = runOf([...planned, delegated, skipped('B', 3)]);
    expect(findStalled(run, t(3), 10_000).waiting).toEqual(['A']);
    expect(findStalled(runOf([...planned, skipped('B', 3)]), t(3), 10_000).waiting).toEqual([]);
  });
});
