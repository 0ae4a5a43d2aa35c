import { makeEvent, type Envelope, type HashParts, type PayloadInput } from '@almanac/contracts';
import { decisionProjection, MAX_DECISIONS_KEPT } from './decision.projection';
import { hashIndexProjection, hashKey } from './hash-index.projection';
import { fold } from './projection';
import { runProjection } from './run.projection';

const at = (s: number) => new Date(Date.UTC(2026, 0, 15, 2, 0, s)).toISOString();
const parts: HashParts = {
  code: 'c1',
  epoch: '1',
  inputs: { orders: '3:99' },
  dependencies: {},
  previous: null,
  scope: null,
};
let n = 0;
function ev<T extends Parameters<typeof makeEvent>[0]['type']>(
  type: T,
  payload: PayloadInput<T>,
  s = n,
): Envelope {
  n++;
  return makeEvent({
    type,
    eventId: `${type}:${n}`,
    streamId: 'run-r',
    correlationId: (payload as { runId: string }).runId,
    causationId: null,
    producer: 'test',
    occurredAt: at(s),
    payload,
  } as Parameters<typeof makeEvent>[0]);
}
const date = '2026-01-15';
const started = (
  runId: string,
  attempt = 1,
  extra: Partial<PayloadInput<'ComputationStarted'>> = {},
) =>
  ev('ComputationStarted', {
    runId,
    date,
    computation: 'A',
    pass: 0,
    attempt,
    owner: 'x',
    leaseExpiresAt: at(60),
    compositeHash: `h-${runId}`,
    hashParts: parts,
    entityCount: 3,
    batchCount: 2,
    scoped: false,
    dryRun: false,
    forced: false,
    reason: { code: 'first-run' },
    ...extra,
  });
const completed = (
  runId: string,
  status: 'completed' | 'failed' | 'skipped',
  extra: Partial<PayloadInput<'ComputationCompleted'>> = {},
) =>
  ev('ComputationCompleted', {
    runId,
    date,
    computation: 'A',
    pass: 0,
    status,
    reason:
      status === 'failed'
        ? { code: 'entity-failures', failed: 1, total: 3 }
        : { code: 'first-run' },
    compositeHash: `h-${runId}`,
    hashParts: parts,
    resultHash: status === 'completed' ? `r-${runId}` : null,
    entities: { total: 3, succeeded: 3, failed: 0, saved: 3 },
    failedEntities: [],
    scoped: false,
    dryRun: false,
    forced: false,
    durationMs: 5,
    ...extra,
  });

describe('hash index projection', () => {
  const key = hashKey('A', date);

  it('given a completed result, when another run starts, then the entry and its version stay until that run completes', () => {
    const afterFirst = fold(hashIndexProjection, [
      started('r1'),
      completed('r1', 'completed', { resultVersion: 'r1/1' }),
    ]);
    expect(afterFirst[key]).toMatchObject({
      runId: 'r1',
      compositeHash: 'h-r1',
      resultHash: 'r-r1',
      resultVersion: 'r1/1',
      valid: true,
    });
    // the second run writes a version of its own: readers and skips keep the first one meanwhile
    const duringSecond = fold(hashIndexProjection, [started('r2')], structuredClone(afterFirst));
    expect(duringSecond[key]).toEqual(afterFirst[key]);
    const afterSecond = fold(
      hashIndexProjection,
      [completed('r2', 'completed', { resultVersion: 'r2/1' })],
      duringSecond,
    );
    expect(afterSecond[key]).toMatchObject({ runId: 'r2', resultVersion: 'r2/1', valid: true });
  });

  it('a failed run, a dry run and a skip leave the entry as it was', () => {
    const v = fold(hashIndexProjection, [
      started('r1'),
      completed('r1', 'completed', { resultVersion: 'r1/1' }),
      started('r2'),
      completed('r2', 'failed'),
      started('r4', 1, { dryRun: true }),
      completed('r4', 'completed', { dryRun: true }),
      completed('r5', 'skipped', { resultVersion: 'r1/1' }),
    ]);
    expect(v[key]).toMatchObject({ runId: 'r1', resultVersion: 'r1/1', valid: true });
  });

  it('names the run id as the version of a result recorded before results were versioned', () => {
    const v = fold(hashIndexProjection, [completed('r0', 'completed')]);
    expect(v[key].resultVersion).toBe('r0');
  });

  it('a run restricted to some entities never marks the date up to date', () => {
    const v = fold(hashIndexProjection, [
      started('r1', 1, { scoped: true }),
      completed('r1', 'completed', { scoped: true }),
    ]);
    expect(v[key]).toMatchObject({ runId: 'r1', valid: false });
  });
});

describe('hash index projection: invalidations and expiries (ADR 0018)', () => {
  const key = hashKey('A', date);
  /** a completion recorded at second `s` */
  const completedAt = (
    runId: string,
    extra: Partial<PayloadInput<'ComputationCompleted'>>,
    s: number,
  ): Envelope => ({ ...completed(runId, 'completed', extra), occurredAt: at(s) });
  const invalidated = (from: string, to: string, computations = ['A'], s = n) =>
    makeEvent({
      type: 'ComputationsInvalidated',
      eventId: `ComputationsInvalidated:i${n++}`,
      streamId: 'invalidation-i',
      correlationId: 'i',
      causationId: null,
      producer: 'test',
      occurredAt: at(s),
      payload: {
        invalidationId: `i${n}`,
        computations,
        from,
        to,
        reason: 'bad',
        requestedBy: 'ops',
      },
    });
  const expired = (versions: string[]) =>
    makeEvent({
      type: 'ResultVersionsExpired',
      eventId: `ResultVersionsExpired:${n++}`,
      streamId: 'retention-A',
      correlationId: 'retention',
      causationId: null,
      producer: 'test',
      occurredAt: at(50),
      payload: { computation: 'A', date, versions, current: null, ttlDays: 1, cutoff: date },
    });

  it('given a completed result, when it is invalidated, then it is tainted until a later execution completes', () => {
    const v = fold(hashIndexProjection, [
      completedAt('r1', { resultVersion: 'r1/1' }, 1),
      invalidated(date, date, ['A'], 10),
    ]);
    expect(v[key]).toMatchObject({ runId: 'r1', valid: false, taint: { reason: 'bad' } });
    // started at 20 - 5 ms: after the taint
    const after = fold(hashIndexProjection, [completedAt('r2', { resultVersion: 'r2/1' }, 20)], v);
    expect(after[key]).toMatchObject({ runId: 'r2', valid: true });
    expect(after[key].taint).toBeUndefined();
  });

  it('an execution that started before the taint completes tainted', () => {
    const v = fold(hashIndexProjection, [
      completedAt('r1', { resultVersion: 'r1/1' }, 1),
      invalidated(date, date, ['A'], 10),
      completedAt('r2', { resultVersion: 'r2/1', durationMs: 5_000 }, 12),
    ]);
    expect(v[key]).toMatchObject({ runId: 'r2', valid: false, taint: { reason: 'bad' } });
  });

  it('taints only the named computations within the dates, and nothing for dates never run', () => {
    const v = fold(hashIndexProjection, [
      completedAt('r1', { resultVersion: 'r1/1' }, 1),
      invalidated('2026-01-16', '2026-02-01'),
      invalidated(date, date, ['B']),
    ]);
    expect(v[key]).toMatchObject({ valid: true });
    expect(Object.keys(v)).toEqual([key]);
  });

  it('drops the entry when the version readers see expires, and only then', () => {
    const base = fold(hashIndexProjection, [completedAt('r1', { resultVersion: 'r1/1' }, 1)]);
    const v = fold(hashIndexProjection, [expired(['r0/1'])], structuredClone(base));
    expect(v[key]).toEqual(base[key]);
    expect(fold(hashIndexProjection, [expired(['r0/1', 'r1/1'])], v)[key]).toBeUndefined();
  });
});

describe('run projection', () => {
  it('follows a run from request to completion, counting each batch once for the current attempt', () => {
    const events = [
      ev('RunRequested', { runId: 'r1', date }, 0),
      ev('RunPlanned', {
        runId: 'r1',
        date,
        epoch: '1',
        passes: [['A']],
        computations: [
          { name: 'A', pass: 0, type: 'per-entity', dependencies: [], codeHash: 'c1' },
        ],
        force: false,
        dryRun: false,
      }),
      ev('PassReady', { runId: 'r1', date, pass: 0, computations: ['A'] }),
      started('r1'),
      ev('BatchDone', {
        runId: 'r1',
        date,
        computation: 'A',
        attempt: 1,
        batch: 0,
        processed: 2,
        saved: 2,
        failures: [],
        durationMs: 1,
      }),
      ev('BatchDone', {
        runId: 'r1',
        date,
        computation: 'A',
        attempt: 1,
        batch: 0,
        processed: 2,
        saved: 2,
        failures: [],
        durationMs: 1,
      }),
      ev('BatchDone', {
        runId: 'r1',
        date,
        computation: 'A',
        attempt: 1,
        batch: 1,
        processed: 1,
        saved: 0,
        failures: [],
        error: 'boom',
        durationMs: 1,
      }),
    ];
    const running = fold(runProjection, events);
    expect(running.r1.status).toBe('running');
    expect(running.r1.computations.A).toMatchObject({
      status: 'running',
      processed: 2,
      saved: 2,
      batchesDone: { 0: true },
    });
    const done = fold(
      runProjection,
      [
        completed('r1', 'completed'),
        ev(
          'RunCompleted',
          {
            runId: 'r1',
            date,
            status: 'completed',
            counts: { completed: 1, skipped: 0, blocked: 0, impossible: 0, failed: 0 },
            durationMs: 9,
          },
          9,
        ),
      ],
      running,
    );
    expect(done.r1).toMatchObject({ status: 'completed', durationMs: 9, completedAt: at(9) });
    expect(done.r1.computations.A).toMatchObject({ status: 'completed', resultHash: 'r-r1' });
  });
});

describe('run projection: the results export (ADR 0026)', () => {
  const planned = [
    ev('RunRequested', { runId: 'r1', date }, 0),
    ev('RunPlanned', {
      runId: 'r1',
      date,
      epoch: '1',
      passes: [['A']],
      computations: [{ name: 'A', pass: 0, type: 'per-entity', dependencies: [], codeHash: 'c1' }],
      force: false,
      dryRun: false,
    }),
    completed('r1', 'completed', { resultVersion: 'r1/1' }),
  ];
  const target = { runId: 'r1', date, computation: 'A', version: 'r1/1', table: 'p.d.t' };
  const failed = (attempt: number, s: number) =>
    ev('ResultsExportFailed', { ...target, attempt, error: 'bq down', retryable: true }, s);
  const exported = (s: number) => ev('ResultsExported', { ...target, rows: 3, durationMs: 7 }, s);

  it('shows no export until one is recorded, then the last failed attempt, then the export', () => {
    expect(fold(runProjection, planned).r1.computations.A.export).toBeNull();
    const failing = fold(runProjection, [...planned, failed(1, 20), failed(2, 21)]);
    expect(failing.r1.computations.A.export).toEqual({
      status: 'failed',
      version: 'r1/1',
      table: 'p.d.t',
      attempt: 2,
      error: 'bq down',
      retryable: true,
      at: at(21),
    });
    const done = fold(runProjection, [exported(22)], failing);
    expect(done.r1.computations.A.export).toEqual({
      status: 'exported',
      version: 'r1/1',
      table: 'p.d.t',
      rows: 3,
      at: at(22),
    });
  });

  it('a failure recorded after the export of the same version does not undo it', () => {
    const v = fold(runProjection, [...planned, exported(22), failed(3, 23)]);
    expect(v.r1.computations.A.export).toMatchObject({ status: 'exported', rows: 3 });
  });

  it('the decisions of (computation, date) keep its latest export, for audit', () => {
    const before = fold(decisionProjection, planned)[hashKey('A', date)];
    expect(before.exported).toBeUndefined();
    const after = fold(decisionProjection, [...planned, failed(1, 20), exported(22)]);
    expect(after[hashKey('A', date)].exported).toEqual({
      runId: 'r1',
      version: 'r1/1',
      rows: 3,
      table: 'p.d.t',
      at: at(22),
    });
  });
});

describe('run projection: which computations a run forces', () => {
  const plan = (extra: Partial<PayloadInput<'RunPlanned'>>) =>
    ev('RunPlanned', {
      runId: 'rf',
      date,
      epoch: '1',
      passes: [['A'], ['B']],
      computations: [
        { name: 'A', pass: 0, type: 'per-entity', dependencies: [], codeHash: 'cA' },
        { name: 'B', pass: 1, type: 'per-entity', dependencies: ['A'], codeHash: 'cB' },
      ],
      force: true,
      dryRun: false,
      ...extra,
    });
  const forced = (events: Envelope[]) =>
    Object.fromEntries(
      Object.values(fold(runProjection, events).rf.computations).map((c) => [c.name, c.forced]),
    );
  const request = (extra: Partial<PayloadInput<'RunRequested'>>) =>
    ev('RunRequested', { runId: 'rf', date, targets: ['B'], ...extra });

  it('takes the forced computations from the plan', () => {
    expect(forced([request({ force: true }), plan({ forced: ['B'] })])).toEqual({
      A: false,
      B: true,
    });
  });

  it('a plan recorded before plans named the forced computations: force forced every computation', () => {
    expect(forced([request({ force: true }), plan({})])).toEqual({ A: true, B: true });
    expect(forced([request({ force: false }), plan({ force: false })])).toEqual({
      A: false,
      B: false,
    });
  });

  it('reads forceUpstream from the request, false when a request recorded before it has none', () => {
    const runs = fold(runProjection, [request({ forceUpstream: true })]);
    expect(runs.rf.forceUpstream).toBe(true);
    expect(fold(runProjection, [request({})]).rf.forceUpstream).toBe(false);
  });
});

describe('decision projection', () => {
  it('keeps every decision per computation and date, latest last', () => {
    const v = fold(decisionProjection, [completed('r1', 'completed'), completed('r2', 'skipped')]);
    const entry = v[hashKey('A', date)];
    expect(entry.history.map((d) => [d.runId, d.status])).toEqual([
      ['r1', 'completed'],
      ['r2', 'skipped'],
    ]);
    expect(entry.latest.runId).toBe('r2');
  });

  it('given more decisions for one date than it keeps, when folded, then it keeps the newest, counts the rest, and remembers the last real completion', () => {
    const events = [
      completed('r0', 'completed'),
      completed('dry', 'completed', { dryRun: true }),
      ...Array.from({ length: MAX_DECISIONS_KEPT + 5 }, (_, i) =>
        completed(`s${i}`, i % 2 ? 'skipped' : 'failed', {
          entities: { total: 3, succeeded: 2, failed: 1, saved: 2 },
        }),
      ),
    ];
    const entry = fold(decisionProjection, events)[hashKey('A', date)];
    expect(entry.history).toHaveLength(MAX_DECISIONS_KEPT);
    expect(entry.history.at(-1)?.runId).toBe(`s${MAX_DECISIONS_KEPT + 4}`);
    expect(entry.earlier).toBe(events.length - MAX_DECISIONS_KEPT);
    // what the metrics count stays exact though the history is cut
    expect(entry.counts).toEqual({
      completed: 2,
      failed: Math.ceil((MAX_DECISIONS_KEPT + 5) / 2),
      skipped: Math.floor((MAX_DECISIONS_KEPT + 5) / 2),
    });
    expect(entry.failedEntities).toBe(MAX_DECISIONS_KEPT + 5);
    // explain compares with the last completed, non-dry-run decision before the latest
    expect(entry.previousCompleted?.runId).toBe('r0');
  });

  it('given a completion right before the latest, then that one is the previous completion', () => {
    const entry = fold(decisionProjection, [
      completed('r1', 'completed'),
      completed('r2', 'completed'),
      completed('r3', 'skipped'),
    ])[hashKey('A', date)];
    expect(entry.previousCompleted?.runId).toBe('r2');
    expect(
      fold(decisionProjection, [completed('r1', 'completed')])[hashKey('A', date)]
        .previousCompleted,
    ).toBeNull();
  });

  it('rebuilding from the same events gives identical views', () => {
    const events = [
      started('r1'),
      completed('r1', 'completed'),
      started('r2'),
      completed('r2', 'failed'),
    ];
    expect(fold(decisionProjection, events)).toEqual(fold(decisionProjection, events));
    expect(fold(hashIndexProjection, events)).toEqual(fold(hashIndexProjection, events));
  });
});
