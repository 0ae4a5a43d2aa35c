import {
  makeEvent,
  type EntityFailure,
  type Envelope,
  type HashParts,
  type Reason,
  type Status,
} from '@almanac/contracts';
import type { RunsView } from '@almanac/domain/projections';
import { specificationFor } from '@almanac/testing';
import type { Evaluation } from './evaluate';
import { executorDecider, type ExecutorCommand } from './executor.decider';

const spec = specificationFor<ExecutorCommand, Envelope, RunsView>(executorDecider);

const DATE = '2026-01-15';
const T0 = '2026-01-15T02:00:00.000Z';
const T1 = '2026-01-15T02:00:05.000Z';
const T2 = '2026-01-15T02:01:05.000Z';

const meta = (streamId: string, eventId: string, occurredAt = T0) => ({
  eventId,
  streamId,
  correlationId: 'r1',
  causationId: null,
  producer: 'test',
  occurredAt,
});

// ---- the history, as the log would hold it ----

const runRequested = (opts: { entityIds?: string[]; force?: boolean; dryRun?: boolean } = {}) =>
  makeEvent({
    type: 'RunRequested',
    ...meta('run-r1', 'RunRequested:r1'),
    payload: { runId: 'r1', date: DATE, targets: ['C'], ...opts },
  });

/** pass 0: A and B; pass 1: C (depends on A and B). */
const runPlanned = (opts: { force?: boolean; forced?: string[]; dryRun?: boolean } = {}) =>
  makeEvent({
    type: 'RunPlanned',
    ...meta('run-r1', 'RunPlanned:r1'),
    payload: {
      runId: 'r1',
      date: DATE,
      epoch: '1',
      passes: [['A', 'B'], ['C']],
      computations: [
        { name: 'A', pass: 0, type: 'per-entity', dependencies: [], codeHash: 'code-A' },
        { name: 'B', pass: 0, type: 'global', dependencies: [], codeHash: 'code-B' },
        { name: 'C', pass: 1, type: 'per-entity', dependencies: ['A', 'B'], codeHash: 'code-C' },
      ],
      force: opts.force ?? false,
      forced: opts.forced,
      dryRun: opts.dryRun ?? false,
    },
  });

const passReady = (pass: number, computations: string[]) =>
  makeEvent({
    type: 'PassReady',
    ...meta('run-r1', `PassReady:r1:${pass}`),
    payload: { runId: 'r1', date: DATE, pass, computations },
  });

const parts = (name: string): HashParts => ({
  code: `code-${name}`,
  epoch: '1',
  inputs: { trades: 'fp-1' },
  dependencies: {},
  previous: null,
  scope: null,
});

const changedCode: Reason = { code: 'changed', changed: ['code'] };

const started = (
  name: string,
  attempt: number,
  entityCount = 100,
  occurredAt = T1,
  opts: { batchCount?: number; lanes?: number } = {},
) =>
  makeEvent({
    type: 'ComputationStarted',
    ...meta(`run-r1-${name}`, `ComputationStarted:r1:${name}:${attempt}`, occurredAt),
    payload: {
      runId: 'r1',
      date: DATE,
      computation: name,
      pass: name === 'C' ? 1 : 0,
      attempt,
      owner: 'executor-1',
      leaseExpiresAt: '2026-01-15T03:00:05.000Z',
      compositeHash: `hash-${name}`,
      hashParts: parts(name),
      entityCount,
      batchCount: opts.batchCount ?? 1,
      scoped: false,
      dryRun: false,
      forced: false,
      reason: changedCode,
      resultVersion: `r1/${attempt}`,
      readVersions: { X: 'r0/1' },
      lanes: opts.lanes,
    },
  });

const batchDone = (
  name: string,
  attempt: number,
  batch: number,
  opts: {
    retry?: number;
    error?: string;
    permanent?: boolean;
    processed?: number;
    saved?: number;
    failures?: EntityFailure[];
  } = {},
) =>
  makeEvent({
    type: 'BatchDone',
    ...meta(
      `run-r1-${name}#b${batch}`,
      `BatchDone:r1:${name}:${attempt}:${batch}:${opts.retry ?? 0}`,
    ),
    payload: {
      runId: 'r1',
      date: DATE,
      computation: name,
      attempt,
      batch,
      retry: opts.retry ?? 0,
      processed: opts.error ? 0 : (opts.processed ?? 100),
      saved: opts.error ? 0 : (opts.saved ?? 100),
      failures: opts.failures ?? [],
      error: opts.error,
      permanent: opts.permanent,
      durationMs: 10,
    },
  });

const batchRequested = (name: string, attempt: number, batch: number, retry = 0) =>
  makeEvent({
    type: 'BatchRequested',
    ...meta(`run-r1-${name}#b${batch}`, `BatchRequested:r1:${name}:${attempt}:${batch}:${retry}`),
    payload: {
      runId: 'r1',
      date: DATE,
      computation: name,
      attempt,
      batch,
      retry,
      entityIds: [`u${batch}`],
      dryRun: false,
      resultVersion: `r1/${attempt}`,
      readVersions: { X: 'r0/1' },
    },
  });

const circuitOpened = (name: string, attempt: number) =>
  makeEvent({
    type: 'CircuitOpened',
    ...meta(`run-r1-${name}`, `CircuitOpened:r1:${name}:${attempt}`),
    payload: {
      runId: 'r1',
      date: DATE,
      computation: name,
      attempt,
      calls: 20,
      failures: 6,
      message: 'circuit opened after 6 failed of 20 batch calls',
    },
  });

const completed = (name: string, status: Status) =>
  makeEvent({
    type: 'ComputationCompleted',
    ...meta(`run-r1-${name}`, `ComputationCompleted:r1:${name}`),
    payload: {
      runId: 'r1',
      date: DATE,
      computation: name,
      pass: name === 'C' ? 1 : 0,
      status,
      reason:
        status === 'skipped'
          ? { code: 'unchanged', compositeHash: `hash-${name}` }
          : { code: 'first-run' },
      compositeHash: null,
      hashParts: null,
      resultHash: null,
      entities: { total: 0, succeeded: 0, failed: 0, saved: 0 },
      failedEntities: [],
      scoped: false,
      dryRun: false,
      forced: false,
      durationMs: 0,
    },
  });

const runCompleted = () =>
  makeEvent({
    type: 'RunCompleted',
    ...meta('run-r1', 'RunCompleted:r1'),
    payload: {
      runId: 'r1',
      date: DATE,
      status: 'completed',
      counts: { completed: 3, skipped: 0, blocked: 0, impossible: 0, failed: 0 },
      durationMs: 1,
    },
  });

const planned = [runRequested(), runPlanned(), passReady(0, ['A', 'B'])];

// ---- commands ----

const decide = (
  computation: string,
  evaluation: Evaluation,
  extra: Partial<ExecutorCommand> = {},
): ExecutorCommand =>
  ({
    type: 'Decide',
    runId: 'r1',
    computation,
    evaluation,
    entityCount: 2500,
    batchCount: 3,
    owner: 'executor-1',
    leaseMs: 3_600_000,
    durationMs: 12,
    causationId: 'PassReady:r1:0',
    now: T1,
    ...extra,
  }) as ExecutorCommand;

const toRun: Evaluation = {
  kind: 'run',
  reason: changedCode,
  compositeHash: 'hash-A',
  hashParts: parts('A'),
};

const complete = (
  extra: Partial<Extract<ExecutorCommand, { type: 'Complete' }>> = {},
): ExecutorCommand => ({
  type: 'Complete',
  runId: 'r1',
  computation: 'A',
  attempt: 1,
  failureTolerance: 0.05,
  retries: 2,
  resultHash: 'res-A',
  resultVersion: 'r1/1',
  now: T2,
  ...extra,
});

/** the plan of A: five batches of one entity each */
const planOfA = Array.from({ length: 5 }, (_, batch) => ({ batch, entityIds: [`u${batch}`] }));
const dispatch = (attempt = 1): ExecutorCommand => ({
  type: 'Dispatch',
  runId: 'r1',
  computation: 'A',
  attempt,
  batches: planOfA,
  retries: 2,
  now: T2,
});
const requestedIds = (events: Envelope[]) =>
  events.map((e) => {
    expect(e.type).toBe('BatchRequested');
    return e.eventId;
  });

const advance: ExecutorCommand = {
  type: 'Advance',
  runId: 'r1',
  causationId: 'ComputationCompleted:r1:B',
  now: T2,
};

const failuresOf = (n: number): EntityFailure[] =>
  Array.from({ length: n }, (_, i) => ({ entityId: `u${i}`, message: `bad row ${i}` }));

function only<T extends Envelope['type']>(events: Envelope[], type: T): Envelope<T> {
  expect(events.map((e) => e.type)).toEqual([type]);
  return events[0] as Envelope<T>;
}

describe('executor decider', () => {
  describe('Decide', () => {
    it('starts a computation that must run: attempt 1, lease = now + leaseMs', () => {
      spec
        .given(planned)
        .when(decide('A', toRun))
        .then([
          makeEvent({
            type: 'ComputationStarted',
            eventId: 'ComputationStarted:r1:A:1',
            streamId: 'run-r1-A',
            correlationId: 'r1',
            causationId: 'PassReady:r1:0',
            producer: 'executor',
            occurredAt: T1,
            payload: {
              runId: 'r1',
              date: DATE,
              computation: 'A',
              pass: 0,
              attempt: 1,
              owner: 'executor-1',
              leaseExpiresAt: '2026-01-15T03:00:05.000Z',
              compositeHash: 'hash-A',
              hashParts: parts('A'),
              entityCount: 2500,
              batchCount: 3,
              scoped: false,
              dryRun: false,
              forced: false,
              reason: changedCode,
              readVersions: {},
            },
          }),
        ]);
    });

    it("requests the first batch of each lane with the start, into the attempt's version", () => {
      spec
        .given(planned)
        .when(
          decide('A', toRun, {
            lanes: 2,
            firstBatches: planOfA.slice(0, 2),
            resultVersion: 'r1/1',
            readVersions: { X: 'r0/1' },
          }),
        )
        .then((events) => {
          expect(events.map((e) => e.eventId)).toEqual([
            'ComputationStarted:r1:A:1',
            'BatchRequested:r1:A:1:0:0',
            'BatchRequested:r1:A:1:1:0',
          ]);
          expect(events[0].payload).toMatchObject({ lanes: 2, resultVersion: 'r1/1' });
          // one stream per batch: batch events never contend on one stream
          expect(events[2].streamId).toBe('run-r1-A#b1');
          expect(events[2].payload).toMatchObject({
            entityIds: ['u1'],
            resultVersion: 'r1/1',
            readVersions: { X: 'r0/1' },
          });
        });
    });

    it('carries scoped, forced and dryRun from the run', () => {
      spec
        .given([
          runRequested({ entityIds: ['u1', 'u2'], force: true, dryRun: true }),
          runPlanned(),
          passReady(0, ['A', 'B']),
        ])
        .when(
          decide(
            'A',
            { ...toRun, reason: { code: 'scoped', entities: 2 } },
            { entityCount: 2, batchCount: 1 },
          ),
        )
        .then((events) => {
          const e = only(events, 'ComputationStarted');
          expect(e.payload).toMatchObject({
            scoped: true,
            forced: true,
            dryRun: true,
            entityCount: 2,
            batchCount: 1,
            reason: { code: 'scoped', entities: 2 },
          });
        });
    });

    it('a forced run forces the computations its plan names, not the dependencies it includes', () => {
      const history = [
        runRequested({ force: true }),
        runPlanned({ force: true, forced: ['C'] }),
        passReady(0, ['A', 'B']),
      ];
      spec
        .given(history)
        .when(decide('A', toRun))
        .then((events) => {
          expect(only(events, 'ComputationStarted').payload.forced).toBe(false);
        });
      spec
        .given(history)
        .when(decide('C', { ...toRun, reason: { code: 'forced', changed: [] } }))
        .then((events) => {
          expect(only(events, 'ComputationStarted').payload.forced).toBe(true);
        });
    });

    it.each([
      [
        'skipped',
        {
          kind: 'skipped',
          status: 'skipped',
          reason: { code: 'unchanged', compositeHash: 'hash-A' },
          compositeHash: 'hash-A',
          hashParts: parts('A'),
          resultHash: 'res-A-stored',
          resultVersion: 'r0/1',
        },
      ],
      [
        'blocked',
        {
          kind: 'blocked',
          status: 'blocked',
          reason: { code: 'dependency-not-ready', dependencies: [{ name: 'X', status: 'failed' }] },
        },
      ],
      [
        'impossible',
        {
          kind: 'impossible',
          status: 'impossible',
          reason: {
            code: 'mandatory-table-empty',
            table: 'trades',
            window: { from: '2026-01-14', to: DATE },
          },
        },
      ],
      [
        'failed',
        {
          kind: 'failed',
          status: 'failed',
          reason: { code: 'error', message: 'fingerprint query failed' },
        },
      ],
    ] as Array<[Status, Evaluation]>)(
      'completes a %s computation at once with that status and reason',
      (status, evaluation) => {
        spec
          .given(planned)
          .when(decide('A', evaluation))
          .then((events) => {
            const e = only(events, 'ComputationCompleted');
            expect(e.eventId).toBe('ComputationCompleted:r1:A');
            expect(e.streamId).toBe('run-r1-A');
            expect(e.payload.status).toBe(status);
            expect(e.payload.reason).toEqual(evaluation.reason);
            expect(e.payload.entities).toEqual({ total: 0, succeeded: 0, failed: 0, saved: 0 });
            expect(e.payload.durationMs).toBe(12);
            // only a skip keeps the stored hashes: dependants read its result hash
            expect(e.payload.resultHash).toBe(status === 'skipped' ? 'res-A-stored' : null);
            expect(e.payload.compositeHash).toBe(status === 'skipped' ? 'hash-A' : null);
            expect(e.payload.hashParts).toEqual(status === 'skipped' ? parts('A') : null);
            // a skip names the version readers keep seeing; other outcomes name none
            expect(e.payload.resultVersion).toBe(status === 'skipped' ? 'r0/1' : null);
          });
      },
    );

    it('decides nothing for a computation already completed (redelivered PassReady)', () => {
      spec
        .given([...planned, completed('A', 'skipped')])
        .when(decide('A', toRun))
        .then([]);
    });

    it('decides nothing for a computation another executor is running', () => {
      spec
        .given([...planned, started('A', 1)])
        .when(decide('A', toRun))
        .then([]);
    });

    it('takes over a running computation with the next attempt when asked to', () => {
      spec
        .given([...planned, started('A', 1)])
        .when(decide('A', toRun, { takeover: true, owner: 'executor-2' }))
        .then((events) => {
          const e = only(events, 'ComputationStarted');
          expect(e.eventId).toBe('ComputationStarted:r1:A:2');
          expect(e.payload.attempt).toBe(2);
          expect(e.payload.owner).toBe('executor-2');
        });
    });

    it('throws naming an unknown run and an unknown computation', () => {
      spec
        .given([])
        .when(decide('A', toRun))
        .thenThrows(/unknown run "r1"/);
      spec
        .given(planned)
        .when(decide('Z', toRun))
        .thenThrows(/computation "Z" is not part of run "r1"/);
    });
  });

  describe('Delegate', () => {
    const delegate: ExecutorCommand = {
      type: 'Delegate',
      runId: 'r1',
      computation: 'A',
      to: 'r0',
      causationId: 'PassReady:r1:0',
      now: T1,
    };

    it('records that the computation waits for the run executing its (computation, date)', () => {
      spec
        .given(planned)
        .when(delegate)
        .then((events) => {
          const e = only(events, 'ComputationDelegated');
          expect(e.eventId).toBe('ComputationDelegated:r1:A:r0');
          expect(e.payload).toEqual({
            runId: 'r1',
            date: DATE,
            computation: 'A',
            pass: 0,
            to: 'r0',
          });
        });
    });

    it('waits for a third run when the one it waited for is done and another took the claim', () => {
      spec
        .given(planned)
        .when(delegate)
        .then((first) =>
          spec
            .given([...planned, ...first])
            .when({ ...delegate, to: 'r2' })
            .then((events) => {
              const e = only(events, 'ComputationDelegated');
              expect(e.payload.to).toBe('r2');
            }),
        );
    });

    it('delegates once, and never to its own run', () => {
      spec
        .given(planned)
        .when(delegate)
        .then((events) =>
          spec
            .given([...planned, ...events])
            .when(delegate)
            .then([]),
        );
      spec
        .given(planned)
        .when({ ...delegate, to: 'r1' })
        .then([]);
    });
  });

  describe('Dispatch', () => {
    const lanesOf2 = [
      ...planned,
      started('A', 1, 5, T1, { batchCount: 5, lanes: 2 }),
      batchRequested('A', 1, 0),
      batchRequested('A', 1, 1),
    ];

    it('requests the next batch of a lane once its batch succeeded', () => {
      spec
        .given([...lanesOf2, batchDone('A', 1, 0)])
        .when(dispatch())
        .then((events) => {
          expect(requestedIds(events)).toEqual(['BatchRequested:r1:A:1:2:0']);
          expect(events[0]).toMatchObject({
            streamId: 'run-r1-A#b2',
            causationId: 'ComputationStarted:r1:A:1',
            payload: { entityIds: ['u2'], resultVersion: 'r1/1', readVersions: { X: 'r0/1' } },
          });
        });
    });

    it('requests nothing twice: a batch already requested is in the log', () => {
      spec
        .given([...lanesOf2, batchDone('A', 1, 0), batchRequested('A', 1, 2)])
        .when(dispatch())
        .then([]);
    });

    it('retries a failed try with the next retry number', () => {
      spec
        .given([...lanesOf2, batchDone('A', 1, 1, { error: 'worker lost its connection' })])
        .when(dispatch())
        .then((events) => expect(requestedIds(events)).toEqual(['BatchRequested:r1:A:1:1:1']));
    });

    it('moves the lane on once a batch failed after its retries, or permanently', () => {
      spec
        .given([
          ...lanesOf2,
          batchRequested('A', 1, 1, 1),
          batchRequested('A', 1, 1, 2),
          batchDone('A', 1, 1, { retry: 2, error: 'worker crashed' }),
        ])
        .when(dispatch())
        .then((events) => expect(requestedIds(events)).toEqual(['BatchRequested:r1:A:1:3:0']));
      spec
        .given([...lanesOf2, batchDone('A', 1, 1, { error: 'unknown column', permanent: true })])
        .when(dispatch())
        .then((events) => expect(requestedIds(events)).toEqual(['BatchRequested:r1:A:1:3:0']));
    });

    it('ignores a stale failure once a later try was requested; a success from any try counts', () => {
      const retried = [...lanesOf2, batchRequested('A', 1, 1, 1)];
      spec
        .given([...retried, batchDone('A', 1, 1, { retry: 0, error: 'slow' })])
        .when(dispatch())
        .then([]);
      spec
        .given([...retried, batchDone('A', 1, 1, { retry: 0 })])
        .when(dispatch())
        .then((events) => expect(requestedIds(events)).toEqual(['BatchRequested:r1:A:1:3:0']));
    });

    it('requests the first batch of every lane when none was requested (a redelivered PassReady)', () => {
      spec
        .given([...planned, started('A', 1, 5, T1, { batchCount: 5, lanes: 2 })])
        .when(dispatch())
        .then((events) =>
          expect(requestedIds(events)).toEqual([
            'BatchRequested:r1:A:1:0:0',
            'BatchRequested:r1:A:1:1:0',
          ]),
        );
    });

    it('fencing: a superseded attempt, a decided computation or an open circuit requests nothing', () => {
      spec
        .given([...lanesOf2, started('A', 2, 5, T1, { batchCount: 5, lanes: 2 })])
        .when(dispatch(1))
        .then([]);
      spec
        .given([...lanesOf2, completed('A', 'failed')])
        .when(dispatch())
        .then([]);
      spec
        .given([...lanesOf2, batchDone('A', 1, 0), circuitOpened('A', 1)])
        .when(dispatch())
        .then([]);
    });
  });

  describe('OpenCircuit', () => {
    const open = (attempt: number): ExecutorCommand => ({
      type: 'OpenCircuit',
      runId: 'r1',
      computation: 'A',
      attempt,
      calls: 20,
      failures: 7,
      message: 'circuit opened after 7 failed of 20 batch calls',
      now: T2,
    });

    it('records CircuitOpened once for the current attempt', () => {
      spec
        .given([...planned, started('A', 1)])
        .when(open(1))
        .then((events) => {
          const e = only(events, 'CircuitOpened');
          expect(e.eventId).toBe('CircuitOpened:r1:A:1');
          expect(e.payload).toMatchObject({ attempt: 1, calls: 20, failures: 7 });
          spec
            .given([...planned, started('A', 1), e])
            .when(open(1))
            .then([]);
        });
    });
  });

  describe('Complete', () => {
    const runningA = [...planned, started('A', 1, 100, T1)];

    it('completes with the start reason and names its version when failures stay within the tolerance', () => {
      spec
        .given([...runningA, batchDone('A', 1, 0, { saved: 95, failures: failuresOf(5) })])
        .when(complete())
        .then((events) => {
          const e = only(events, 'ComputationCompleted');
          expect(e.causationId).toBe('ComputationStarted:r1:A:1');
          expect(e.payload).toMatchObject({
            status: 'completed',
            reason: changedCode,
            compositeHash: 'hash-A',
            hashParts: parts('A'),
            resultHash: 'res-A',
            resultVersion: 'r1/1',
            entities: { total: 100, succeeded: 95, failed: 5, saved: 95 },
            durationMs: 60_000,
          });
          expect(e.payload.failedEntities).toEqual(failuresOf(5));
        });
    });

    it('completes nothing while a batch is unsettled', () => {
      spec
        .given([...planned, started('A', 1, 100, T1, { batchCount: 2 }), batchDone('A', 1, 0)])
        .when(complete())
        .then([]);
    });

    it('fails an attempt that cannot go on at once, without waiting for its batches', () => {
      spec
        .given([...planned, started('A', 1, 100, T1, { batchCount: 2 }), batchDone('A', 1, 0)])
        .when(complete({ finaliseError: 'the entities of 2026-01-15 changed while A ran' }))
        .then((events) => {
          const e = only(events, 'ComputationCompleted');
          expect(e.payload.status).toBe('failed');
          expect(e.payload.reason).toMatchObject({
            code: 'error',
            message: expect.stringContaining('the entities of 2026-01-15 changed while A ran'),
          });
        });
    });

    it('fails with entity-failures, the counts and the failed ids when over the tolerance', () => {
      spec
        .given([...runningA, batchDone('A', 1, 0, { saved: 94, failures: failuresOf(6) })])
        .when(complete())
        .then((events) => {
          const e = only(events, 'ComputationCompleted');
          expect(e.payload.status).toBe('failed');
          expect(e.payload.reason).toEqual({ code: 'entity-failures', failed: 6, total: 100 });
          expect(e.payload.failedEntities.map((f) => f.entityId)).toEqual([
            'u0',
            'u1',
            'u2',
            'u3',
            'u4',
            'u5',
          ]);
          expect(e.payload.entities).toEqual({ total: 100, succeeded: 94, failed: 6, saved: 94 });
          // readers keep the version they had
          expect(e.payload.resultHash).toBeNull();
          expect(e.payload.resultVersion).toBeNull();
        });
    });

    it('reports at most 1000 failed entities, and counts them all', () => {
      spec
        .given([
          ...planned,
          started('A', 1, 5000),
          batchDone('A', 1, 0, { processed: 5000, saved: 3800, failures: failuresOf(1200) }),
        ])
        .when(complete())
        .then((events) => {
          const e = only(events, 'ComputationCompleted');
          expect(e.payload.entities.failed).toBe(1200);
          expect(e.payload.failedEntities).toHaveLength(1000);
        });
    });

    it('fails with error when a batch failed as a whole after its retries', () => {
      spec
        .given([
          ...runningA,
          batchRequested('A', 1, 0, 2),
          batchDone('A', 1, 0, { retry: 2, error: 'worker crashed' }),
        ])
        .when(complete())
        .then((events) => {
          const e = only(events, 'ComputationCompleted');
          expect(e.payload.status).toBe('failed');
          expect(e.payload.reason).toEqual({
            code: 'error',
            message: '1 batch(es) failed after retries; batch 0: worker crashed',
          });
          expect(e.payload.resultHash).toBeNull();
        });
    });

    it('fails with what went wrong when the results could not be finalised', () => {
      spec
        .given([...runningA, batchDone('A', 1, 0)])
        .when(complete({ finaliseError: 'result store unavailable' }))
        .then((events) => {
          const e = only(events, 'ComputationCompleted');
          expect(e.payload.status).toBe('failed');
          expect(e.payload.reason).toEqual({
            code: 'error',
            message:
              '1 batch(es) failed after retries; could not finalise results: result store unavailable',
          });
        });
    });

    it('fails with circuit-open once the breaker opened, without waiting for the other batches', () => {
      spec
        .given([...planned, started('A', 1, 100, T1, { batchCount: 9 }), circuitOpened('A', 1)])
        .when(complete())
        .then((events) => {
          const e = only(events, 'ComputationCompleted');
          expect(e.payload.status).toBe('failed');
          expect(e.payload.reason).toEqual({
            code: 'circuit-open',
            message: 'circuit opened after 6 failed of 20 batch calls',
          });
        });
    });

    it('a dry run completes without a result hash or version', () => {
      spec
        .given([
          runRequested({ dryRun: true }),
          runPlanned({ dryRun: true }),
          passReady(0, ['A', 'B']),
          started('A', 1),
          batchDone('A', 1, 0, { saved: 0 }),
        ])
        .when(complete())
        .then((events) => {
          const e = only(events, 'ComputationCompleted');
          expect(e.payload.status).toBe('completed');
          expect(e.payload.dryRun).toBe(true);
          expect(e.payload.resultHash).toBeNull();
          expect(e.payload.resultVersion).toBeNull();
        });
    });

    it('fencing: a superseded attempt or an already completed computation completes nothing', () => {
      spec
        .given([...runningA, batchDone('A', 1, 0), started('A', 2)])
        .when(complete())
        .then([]);
      spec
        .given([...runningA, batchDone('A', 1, 0), completed('A', 'completed')])
        .when(complete())
        .then([]);
    });
  });

  describe('Abandon', () => {
    it('fails what the dead process left undecided with reason abandoned and ends the run abandoned', () => {
      spec
        .given([...planned, completed('B', 'completed'), started('A', 1)])
        .when({ type: 'Abandon', runId: 'r1', message: 'process 42 died', now: T2 })
        .then((events) => {
          expect(events.map((e) => e.eventId)).toEqual([
            'ComputationCompleted:r1:A',
            'ComputationCompleted:r1:C',
            'RunCompleted:r1',
          ]);
          const a = events[0] as Envelope<'ComputationCompleted'>;
          expect(a.payload).toMatchObject({
            status: 'failed',
            reason: { code: 'abandoned', message: 'process 42 died' },
            resultVersion: null,
          });
          const end = events[2] as Envelope<'RunCompleted'>;
          expect(end.payload.status).toBe('abandoned');
          expect(end.payload.counts).toMatchObject({ completed: 1, failed: 2 });
        });
    });

    it('leaves a run that is over alone', () => {
      spec
        .given([
          ...planned,
          completed('A', 'completed'),
          completed('B', 'completed'),
          passReady(1, ['C']),
          completed('C', 'completed'),
          runCompleted(),
        ])
        .when({ type: 'Abandon', runId: 'r1', message: 'process 42 died', now: T2 })
        .then([]);
    });
  });

  describe('Advance', () => {
    it('does nothing while the pass is not fully decided', () => {
      spec
        .given([...planned, completed('A', 'completed'), started('B', 1)])
        .when(advance)
        .then([]);
    });

    it('makes the next pass ready, with its names, when every computation of the pass is decided', () => {
      spec
        .given([
          ...planned,
          completed('A', 'completed'),
          started('B', 1),
          batchDone('B', 1, 0),
          completed('B', 'skipped'),
        ])
        .when(advance)
        .then([
          makeEvent({
            type: 'PassReady',
            eventId: 'PassReady:r1:1',
            streamId: 'run-r1',
            correlationId: 'r1',
            causationId: 'ComputationCompleted:r1:B',
            producer: 'executor',
            occurredAt: T2,
            payload: { runId: 'r1', date: DATE, pass: 1, computations: ['C'] },
          }),
        ]);
    });

    it('completes the run after the last pass, counting statuses; failed iff any failed', () => {
      spec
        .given([
          ...planned,
          completed('A', 'failed'),
          completed('B', 'skipped'),
          passReady(1, ['C']),
          completed('C', 'blocked'),
        ])
        .when(advance)
        .then((events) => {
          const e = only(events, 'RunCompleted');
          expect(e.eventId).toBe('RunCompleted:r1');
          expect(e.payload).toEqual({
            runId: 'r1',
            date: DATE,
            status: 'failed',
            counts: { completed: 0, skipped: 1, blocked: 1, impossible: 0, failed: 1 },
            durationMs: 65_000,
          });
        });
    });

    it('a run whose computations completed, skipped or were impossible completes', () => {
      spec
        .given([
          ...planned,
          completed('A', 'completed'),
          completed('B', 'impossible'),
          passReady(1, ['C']),
          completed('C', 'skipped'),
        ])
        .when(advance)
        .then((events) => {
          const e = only(events, 'RunCompleted');
          expect(e.payload.status).toBe('completed');
          expect(e.payload.counts).toEqual({
            completed: 1,
            skipped: 1,
            blocked: 0,
            impossible: 1,
            failed: 0,
          });
        });
    });

    it('does nothing after the run completed', () => {
      spec
        .given([
          ...planned,
          completed('A', 'completed'),
          completed('B', 'completed'),
          passReady(1, ['C']),
          completed('C', 'completed'),
          runCompleted(),
        ])
        .when(advance)
        .then([]);
    });
  });
});
