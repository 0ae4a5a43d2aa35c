import { type Envelope, type HashParts, eventIds, makeEvent, streams } from '@almanac/contracts';
import {
  type Checkpoint,
  CheckpointedProjections,
  type CheckpointedProjectionsOptions,
  type CheckpointStore,
  type DecisionsView,
  decisionProjection,
  fold,
  foldUntil,
  type HashIndex,
  hashIndexProjection,
  hashKey,
  InvalidAsOfError,
  type LogReader,
  runProjection,
  type RunsView,
} from '@almanac/domain/projections';
import type { EventStore, StoredEvent } from '../event-store.port';

export type Views = { runs: RunsView; decisions: DecisionsView; hashIndex: HashIndex };
export const projections = {
  runs: runProjection,
  decisions: decisionProjection,
  hashIndex: hashIndexProjection,
};

const DATE = '2026-01-15';
const at = (minute: number) => new Date(Date.UTC(2026, 0, 15, 2, minute)).toISOString();
const parts: HashParts = {
  code: 'c1',
  epoch: '1',
  inputs: { orders: '3:99' },
  dependencies: {},
  previous: null,
  scope: null,
};

export function runRequested(runId: string, minute: number): Envelope {
  return makeEvent({
    type: 'RunRequested',
    eventId: eventIds.runRequested(runId),
    streamId: streams.run(runId),
    correlationId: runId,
    causationId: null,
    producer: 'api',
    occurredAt: at(minute),
    payload: { runId, date: DATE },
  });
}

/** The seven events of a run of one computation "A" that completes, stamped from `minute` on. */
export function runEvents(runId: string, minute: number): Envelope[] {
  const base = { correlationId: runId, causationId: null, producer: 'test' };
  const onRun = { ...base, streamId: streams.run(runId) };
  const onA = { ...base, streamId: streams.computation(runId, 'A') };
  return [
    runRequested(runId, minute),
    makeEvent({
      ...onRun,
      type: 'RunPlanned',
      eventId: eventIds.runPlanned(runId),
      occurredAt: at(minute + 1),
      payload: {
        runId,
        date: DATE,
        epoch: '1',
        passes: [['A']],
        computations: [
          { name: 'A', pass: 0, type: 'per-entity', dependencies: [], codeHash: 'c1' },
        ],
        force: false,
        dryRun: false,
      },
    }),
    makeEvent({
      ...onRun,
      type: 'PassReady',
      eventId: eventIds.passReady(runId, 0),
      occurredAt: at(minute + 2),
      payload: { runId, date: DATE, pass: 0, computations: ['A'] },
    }),
    makeEvent({
      ...onA,
      type: 'ComputationStarted',
      eventId: eventIds.computationStarted(runId, 'A', 1),
      occurredAt: at(minute + 3),
      payload: {
        runId,
        date: DATE,
        computation: 'A',
        pass: 0,
        attempt: 1,
        owner: 'executor-1',
        leaseExpiresAt: at(minute + 60),
        compositeHash: `h-${runId}`,
        hashParts: parts,
        entityCount: 3,
        batchCount: 1,
        scoped: false,
        dryRun: false,
        forced: false,
        reason: { code: 'first-run' },
      },
    }),
    makeEvent({
      ...onA,
      type: 'BatchDone',
      eventId: eventIds.batchDone(runId, 'A', 1, 0),
      occurredAt: at(minute + 4),
      payload: {
        runId,
        date: DATE,
        computation: 'A',
        attempt: 1,
        batch: 0,
        processed: 3,
        saved: 3,
        failures: [],
        durationMs: 7,
      },
    }),
    makeEvent({
      ...onA,
      type: 'ComputationCompleted',
      eventId: eventIds.computationCompleted(runId, 'A'),
      occurredAt: at(minute + 5),
      payload: {
        runId,
        date: DATE,
        computation: 'A',
        pass: 0,
        status: 'completed',
        reason: { code: 'first-run' },
        compositeHash: `h-${runId}`,
        hashParts: parts,
        resultHash: `r-${runId}`,
        entities: { total: 3, succeeded: 3, failed: 0, saved: 3 },
        failedEntities: [],
        scoped: false,
        dryRun: false,
        forced: false,
        durationMs: 9,
      },
    }),
    makeEvent({
      ...onRun,
      type: 'RunCompleted',
      eventId: eventIds.runCompleted(runId),
      occurredAt: at(minute + 6),
      payload: {
        runId,
        date: DATE,
        status: 'completed',
        counts: { completed: 1, skipped: 0, blocked: 0, impossible: 0, failed: 0 },
        durationMs: 360_000,
      },
    }),
  ];
}

/** Appends each event on its own (one commit, one position each). */
export async function appendEach(store: EventStore, events: Envelope[]): Promise<void> {
  for (const e of events) await store.append(e.streamId, [e]);
}

/** The views folded from the whole log in one go: what every runner must end up with. */
export async function fullFold(store: EventStore): Promise<Views> {
  const all = await store.readAll();
  return {
    runs: fold(runProjection, all),
    decisions: fold(decisionProjection, all),
    hashIndex: fold(hashIndexProjection, all),
  };
}

/**
 * The real store, counting what readAll returns. `beforeRead(n)` runs before the n-th read
 * (1-based) reaches the store: to append in between, or to fail like an unreachable database.
 */
export class CountingLog implements LogReader {
  reads = 0;
  events = 0;
  beforeRead?: (n: number) => Promise<void> | void;

  constructor(private readonly store: EventStore) {}

  async readAll(opts?: { after?: string; limit?: number }): Promise<StoredEvent[]> {
    this.reads++;
    await this.beforeRead?.(this.reads);
    const page = await this.store.readAll(opts);
    this.events += page.length;
    return page;
  }
}

/**
 * Then of the late-commit tests: the late event (run r0's RunRequested, the log's 8th event)
 * sorts after the checkpoint, so a runner restarted from that checkpoint reads only it, and both
 * that runner and the live one end equal to a full fold.
 */
export async function expectLateCommitApplied(
  store: EventStore,
  runner: CheckpointedProjections<Views>,
  checkpoints: CheckpointStore,
): Promise<void> {
  const log = new CountingLog(store);
  const restarted = new CheckpointedProjections<Views>(log, projections, checkpoints);
  await restarted.catchUp(); // first: it starts from the checkpoint saved during the transaction
  await runner.catchUp();

  const full = await fullFold(store);
  expect(runner.views.runs.r0).toMatchObject({ status: 'requested', requestedAt: at(0) });
  expect(runner.views).toEqual(full);
  expect(restarted.views).toEqual(full);
  expect(log.events).toBe(1);
  expect(await restarted.verify()).toMatchObject({ equal: true, events: 8 });
}

/** The real checkpoint store, counting saves. */
export class CountingCheckpoints implements CheckpointStore {
  saves = 0;
  constructor(private readonly inner: CheckpointStore) {}
  load(group: string) {
    return this.inner.load(group);
  }
  save(group: string, c: Omit<Checkpoint, 'savedAt'>) {
    this.saves++;
    return this.inner.save(group, c);
  }
  clear(group: string) {
    return this.inner.clear(group);
  }
  close() {
    return this.inner.close();
  }
}

interface ProjectionBackend {
  store: EventStore;
  checkpoints: CheckpointStore;
  cleanup: () => Promise<void>;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * CheckpointedProjections over one event store and checkpoint store adapter, as one Jest
 * `describe` block. The factory is called once per test and returns an empty log and store.
 */
export function checkpointedProjectionsScenarios(
  name: string,
  factory: () => Promise<ProjectionBackend>,
): void {
  describe(`CheckpointedProjections: ${name}`, () => {
    let backend: ProjectionBackend;
    let store: EventStore;
    beforeEach(async () => {
      backend = await factory();
      store = backend.store;
    });
    afterEach(async () => {
      await backend.cleanup();
    });

    const runner = (
      log: LogReader = store,
      opts: CheckpointedProjectionsOptions = {},
      checkpoints: CheckpointStore = backend.checkpoints,
    ) => new CheckpointedProjections<Views>(log, projections, checkpoints, opts);
    const lastPosition = async () => (await store.readAll()).at(-1)!.position;

    it('given a checkpoint, when a new runner starts, then it reads only the events after it and ends equal to a full fold', async () => {
      await appendEach(store, runEvents('r1', 0));
      const first = runner();
      await first.catchUp();
      const checkpointed = await lastPosition();
      expect((await backend.checkpoints.load('views'))!.position).toBe(checkpointed);

      await appendEach(store, runEvents('r2', 10).slice(0, 5));
      const log = new CountingLog(store);
      const restarted = runner(log);
      await restarted.catchUp();

      expect(log.events).toBe(5);
      expect(restarted.views).toEqual(await fullFold(store));
      expect(restarted.views.runs.r2.computations.A.status).toBe('running');
      expect(restarted.position).toBe(await lastPosition());
      expect(restarted.position).not.toBe(checkpointed);
    });

    it('saves every saveEveryEvents events, so a catch-up cut short resumes from the last save', async () => {
      await appendEach(store, runEvents('r1', 0));
      const failing = new CountingLog(store);
      failing.beforeRead = (n) => {
        if (n === 3) throw new Error('database unreachable');
      };
      const crashed = runner(failing, { pageSize: 2, saveEveryEvents: 3 });
      await expect(crashed.catchUp()).rejects.toThrow('database unreachable');
      const third = (await store.readAll())[2].position;
      expect((await backend.checkpoints.load('views'))!.position).toBe(third);

      const log = new CountingLog(store);
      const restarted = runner(log);
      await restarted.catchUp();
      expect(log.events).toBe(4);
      expect(restarted.views).toEqual(await fullFold(store));
    });

    it('a changed version discards the checkpoint and folds the whole log; an unchanged one reads and saves nothing', async () => {
      await appendEach(store, runEvents('r1', 0));
      const v1 = runner();
      await v1.catchUp();

      const log = new CountingLog(store);
      const v2 = runner(log, { version: '2' });
      await v2.catchUp();
      expect(v2.fingerprint).not.toBe(v1.fingerprint);
      expect(log.events).toBe(7);
      expect((await backend.checkpoints.load('views'))!.fingerprint).toBe(v2.fingerprint);

      const again = new CountingLog(store);
      const saves = new CountingCheckpoints(backend.checkpoints);
      const v2b = runner(again, { version: '2' }, saves);
      await v2b.catchUp();
      expect([again.events, saves.saves]).toEqual([0, 0]);
      expect(v2b.views).toEqual(await fullFold(store));
    });

    it('concurrent catch-ups are serialised: callers waiting for their turn share one read', async () => {
      await appendEach(store, runEvents('r1', 0));
      const log = new CountingLog(store);
      let firstReadStarted!: () => void;
      const started = new Promise<void>((resolve) => (firstReadStarted = resolve));
      log.beforeRead = (n) => {
        if (n === 1) firstReadStarted();
      };
      const r = runner(log);
      const first = r.catchUp();
      await started;
      const second = r.catchUp();
      const third = r.catchUp();
      await Promise.all([first, second, third]);

      expect(third).toBe(second);

      expect([log.reads, log.events]).toEqual([2, 7]);
      expect(r.views.decisions[hashKey('A', DATE)].history).toHaveLength(1);
    });

    it('verify reports equal views, then the path of a change made to a live view', async () => {
      await appendEach(store, runEvents('r1', 0));
      const r = runner();
      expect(await r.verify()).toEqual({
        equal: true,
        position: await lastPosition(),
        events: 7,
        differences: [],
      });

      const before = await backend.checkpoints.load('views');
      r.views.runs.r1.status = 'failed';
      r.views.hashIndex[hashKey('A', DATE)].valid = false;
      const report = await r.verify();

      expect(report).toEqual({
        equal: false,
        position: await lastPosition(),
        events: 7,
        differences: [
          { view: 'runs', path: '/r1/status', live: 'failed', rebuilt: 'completed' },
          { view: 'hashIndex', path: '/A|2026-01-15/valid', live: false, rebuilt: true },
        ],
      });
      // neither the live views nor the checkpoint were touched
      expect(r.views.runs.r1.status).toBe('failed');
      expect(await backend.checkpoints.load('views')).toEqual(before);
    });

    it('verify rebuilds up to the live position only, whatever is appended meanwhile', async () => {
      await appendEach(store, runEvents('r1', 0));
      const log = new CountingLog(store);
      const r = runner(log);
      await r.catchUp();
      const position = r.position;
      // read 2: verify's catch-up; read 3: its fold from scratch, after another run was requested
      log.beforeRead = async (n) => {
        if (n === 3) await store.append('run-r2', [runRequested('r2', 30)]);
      };

      const report = await r.verify();

      expect(report).toMatchObject({ equal: true, position, events: 7, differences: [] });
      expect(r.views.runs.r2).toBeUndefined();
      expect((await store.readAll()).length).toBe(8);
    });

    it('verify lists at most 50 differences', async () => {
      for (let i = 0; i < 60; i++) await store.append(`run-q${i}`, [runRequested(`q${i}`, i % 50)]);
      const r = runner();
      await r.catchUp();
      for (const runId of Object.keys(r.views.runs)) delete r.views.runs[runId];

      const report = await r.verify();

      expect(report.equal).toBe(false);
      expect(report.events).toBe(60);
      expect(report.differences).toHaveLength(50);
      expect(report.differences[0]).toMatchObject({ view: 'runs', live: undefined });
      expect(report.differences[0].rebuilt).toMatchObject({ status: 'requested' });
    });

    it('rebuild replaces damaged live views and the checkpoint with a fold of the whole log', async () => {
      await appendEach(store, runEvents('r1', 0));
      const r = runner();
      await r.catchUp();
      r.views.runs.r1.status = 'failed';

      expect(await r.rebuild()).toEqual({ events: 7, position: await lastPosition() });

      const full = await fullFold(store);
      expect(r.views).toEqual(full);
      const log = new CountingLog(store);
      const restarted = runner(log);
      await restarted.catchUp();
      expect([log.events, restarted.views]).toEqual([0, full]);
    });

    it('foldUntil gives the views as of a time between two events and reads no further', async () => {
      const events = runEvents('r1', 0);
      for (const e of events) {
        await store.append(e.streamId, [e]);
        await sleep(5); // distinct recordedAt, a few ms apart
      }
      const stored = await store.readAll();
      const asOf = new Date(Date.parse(stored[2].recordedAt) + 1).toISOString();
      expect(Date.parse(asOf)).toBeLessThan(Date.parse(stored[3].recordedAt));
      const log = new CountingLog(store);

      const views = await foldUntil<Views>(log, projections, asOf, { pageSize: 1 });

      expect(views.runs.r1).toMatchObject({ status: 'running', currentPass: 0 });
      expect(views.runs.r1.computations.A.status).toBe('pending');
      expect(views).toEqual({
        runs: fold(runProjection, stored.slice(0, 3)),
        decisions: {},
        hashIndex: {},
      });
      expect(log.events).toBe(4);
      await expect(foldUntil(store, projections, 'yesterday')).rejects.toBeInstanceOf(
        InvalidAsOfError,
      );
    });
  });
}
