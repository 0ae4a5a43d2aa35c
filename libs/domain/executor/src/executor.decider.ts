import {
  eventIds,
  makeEvent,
  streams,
  type EntityFailure,
  type Envelope,
  type PayloadOf,
  type ReadVersions,
  type Reason,
  type Status,
} from '@almanac/contracts';
import {
  runProjection,
  type ComputationRunView,
  type RunView,
  type RunsView,
} from '@almanac/domain/projections';
import type { Evaluation } from './evaluate';

export const EXECUTOR = 'executor';
export const MAX_FAILED_ENTITIES_REPORTED = 1000;

/** A batch of a computation's plan: its index and its entities. */
export interface PlannedBatch {
  batch: number;
  entityIds: string[];
}

export type ExecutorCommand =
  | {
      type: 'Decide';
      runId: string;
      computation: string;
      evaluation: Evaluation;
      /** for `run`: how many entities and batches, and who owns the work */
      entityCount: number;
      batchCount: number;
      owner: string;
      leaseMs: number;
      durationMs: number;
      causationId: string;
      now: string;
      /** start a new attempt of a computation another executor left running (its lease expired) */
      takeover?: boolean;
      /** for `run`: batches in flight at once, and the first `lanes` batches of the plan */
      lanes?: number;
      firstBatches?: PlannedBatch[];
      /** for `run`: the version the results are written to, and the versions read */
      resultVersion?: string;
      readVersions?: ReadVersions;
      /** the run whose result this decision uses (after waiting for it) */
      delegatedTo?: string;
    }
  | {
      /** another run executes this (computation, date): wait for its ComputationCompleted */
      type: 'Delegate';
      runId: string;
      computation: string;
      to: string;
      causationId: string;
      now: string;
    }
  | {
      /**
       * the batches the current attempt should have requested by now, given its answers: a
       * failed try's retry, the next batch of an answered batch's lane, or (redelivered
       * PassReady) the first batch of each lane. Requests already in the log are not repeated.
       */
      type: 'Dispatch';
      runId: string;
      computation: string;
      attempt: number;
      /** the plan's batches this call may request (the shell knows the plan; the log the answers) */
      batches: PlannedBatch[];
      retries: number;
      now: string;
    }
  | {
      type: 'OpenCircuit';
      runId: string;
      computation: string;
      attempt: number;
      calls: number;
      failures: number;
      message: string;
      now: string;
    }
  | {
      type: 'Complete';
      runId: string;
      computation: string;
      attempt: number;
      failureTolerance: number;
      retries: number;
      resultHash: string | null;
      resultVersion: string | null;
      /** set when finalising the results failed (the computation fails with it) */
      finaliseError?: string;
      now: string;
    }
  | { type: 'Advance'; runId: string; causationId: string; now: string }
  | {
      /** the process running the run died (embedded profile): end what it left undecided */
      type: 'Abandon';
      runId: string;
      message: string;
      now: string;
    };

export interface BatchesOutcome {
  processed: number;
  saved: number;
  /** entities that failed (all of them), and the first MAX_FAILED_ENTITIES_REPORTED of them */
  failed: number;
  failures: EntityFailure[];
  /** batches that failed as a whole after their retries */
  batchErrors: Array<{ batch: number; message: string }>;
  /** set when the breaker opened */
  circuitOpen: string | null;
}

const TERMINAL: ReadonlySet<string> = new Set<Status>([
  'completed',
  'skipped',
  'blocked',
  'impossible',
  'failed',
]);

export const isDecided = (c: ComputationRunView | undefined): boolean =>
  c !== undefined && TERMINAL.has(c.status);

const isOver = (run: RunView) =>
  run.status === 'completed' ||
  run.status === 'failed' ||
  run.status === 'rejected' ||
  run.status === 'abandoned';

function ms(from: string, to: string): number {
  return Math.max(0, Date.parse(to) - Date.parse(from));
}

function requireRun(state: RunsView, runId: string): RunView {
  const run = state[runId];
  if (!run) throw new Error(`executor: unknown run "${runId}"`);
  return run;
}

function requireComputation(run: RunView, name: string): ComputationRunView {
  const c = run.computations[name];
  if (!c) throw new Error(`executor: computation "${name}" is not part of run "${run.runId}"`);
  return c;
}

/** Where a batch of the current attempt stands, from its requests and answers in the log. */
export type BatchState =
  | { kind: 'done' }
  /** failed after its retries, or permanently */
  | { kind: 'failed'; message: string }
  /** its latest try failed and another is due */
  | { kind: 'retry'; retry: number }
  | { kind: 'in-flight' }
  | { kind: 'not-requested' };

export function batchState(c: ComputationRunView, batch: number, retries: number): BatchState {
  if (c.batchesDone[batch]) return { kind: 'done' };
  const error = c.batchErrors[batch];
  if (error && (error.permanent || error.retry >= retries))
    return { kind: 'failed', message: error.message };
  const requested = c.batchTries[batch];
  if (error && error.retry >= (requested ?? 0)) return { kind: 'retry', retry: error.retry + 1 };
  return requested === undefined ? { kind: 'not-requested' } : { kind: 'in-flight' };
}

/** Every batch of the current attempt is done or failed for good. */
export function allBatchesSettled(c: ComputationRunView, retries: number): boolean {
  for (let b = 0; b < c.batchCount; b++) {
    const kind = batchState(c, b, retries).kind;
    if (kind !== 'done' && kind !== 'failed') return false;
  }
  return true;
}

/** What the current attempt produced, from the log: the input of its completion. */
export function attemptOutcome(c: ComputationRunView, retries: number): BatchesOutcome {
  const batchErrors: BatchesOutcome['batchErrors'] = [];
  for (let b = 0; b < c.batchCount; b++) {
    const s = batchState(c, b, retries);
    if (s.kind === 'failed') batchErrors.push({ batch: b, message: s.message });
  }
  return {
    processed: c.processed,
    saved: c.saved,
    failed: c.failed,
    failures: c.failedEntities.slice(0, MAX_FAILED_ENTITIES_REPORTED),
    batchErrors,
    circuitOpen: c.circuitOpen
      ? (c.circuitMessage ?? `circuit opened after ${c.callFailures} failed batch calls`)
      : null,
  };
}

/**
 * The batches of the current attempt that should be requested now: due retries, and the next
 * batch of each lane whose previous batch is settled (batch k settled -> batch k + lanes), limited
 * to the `batches` of the plan the caller passes. Pure: what the log says, nothing in memory.
 */
export function dueBatches(
  c: ComputationRunView,
  plan: PlannedBatch[],
  retries: number,
): Array<PlannedBatch & { retry: number }> {
  if (c.circuitOpen) return [];
  const lanes = c.lanes ?? c.batchCount;
  const due: Array<PlannedBatch & { retry: number }> = [];
  for (const b of plan) {
    const s = batchState(c, b.batch, retries);
    if (s.kind === 'retry') due.push({ ...b, retry: s.retry });
    if (s.kind !== 'not-requested') continue;
    const laneHead = b.batch < lanes;
    const previous = laneHead ? null : batchState(c, b.batch - lanes, retries).kind;
    if (laneHead || previous === 'done' || previous === 'failed') due.push({ ...b, retry: 0 });
  }
  return due;
}

/** The executor's decisions: pure functions of the run's state (folded from the log) and a command. */
export const executorDecider = {
  initialState: (): RunsView => ({}),
  evolve: (state: RunsView, event: Envelope): RunsView => runProjection.evolve(state, event),

  decide(command: ExecutorCommand, state: RunsView): Envelope[] {
    const run = requireRun(state, command.runId);
    const base = { correlationId: run.runId, producer: EXECUTOR, occurredAt: command.now };
    switch (command.type) {
      case 'Decide': {
        const c = requireComputation(run, command.computation);
        if (TERMINAL.has(c.status)) return []; // already decided
        if (c.status === 'running' && !command.takeover) return [];
        const e = command.evaluation;
        const streamId = streams.computation(run.runId, c.name);
        if (e.kind === 'run') {
          const attempt = c.attempt + 1;
          const startedId = eventIds.computationStarted(run.runId, c.name, attempt);
          const resultVersion = command.resultVersion;
          const readVersions = command.readVersions ?? {};
          const started = makeEvent({
            ...base,
            streamId,
            causationId: command.causationId,
            type: 'ComputationStarted',
            eventId: startedId,
            payload: {
              runId: run.runId,
              date: run.date,
              computation: c.name,
              pass: c.pass,
              attempt,
              owner: command.owner,
              leaseExpiresAt: new Date(Date.parse(command.now) + command.leaseMs).toISOString(),
              compositeHash: e.compositeHash,
              hashParts: e.hashParts,
              entityCount: command.entityCount,
              batchCount: command.batchCount,
              scoped: isScoped(run, c),
              dryRun: run.dryRun,
              forced: c.forced,
              reason: e.reason,
              resultVersion,
              readVersions,
              lanes: command.lanes,
            },
          });
          const requests = (command.firstBatches ?? []).map((b) =>
            batchRequested(run, c.name, attempt, b, 0, startedId, command.now, {
              resultVersion,
              readVersions,
              scoped: isScoped(run, c),
            }),
          );
          return [started, ...requests];
        }
        return [
          computationCompleted(run, c, command.causationId, command.now, {
            status: e.status,
            reason: e.reason,
            compositeHash: e.kind === 'skipped' ? e.compositeHash : null,
            hashParts: e.kind === 'skipped' ? e.hashParts : null,
            resultHash: e.kind === 'skipped' ? e.resultHash : null,
            resultVersion: e.kind === 'skipped' && !run.dryRun ? e.resultVersion : null,
            entities: { total: 0, succeeded: 0, failed: 0, saved: 0 },
            failedEntities: [],
            scoped: isScoped(run, c),
            forced: c.forced,
            durationMs: command.durationMs,
          }),
        ];
      }
      case 'Delegate': {
        const c = requireComputation(run, command.computation);
        if (command.to === run.runId) return [];
        // pending, or waiting for another run (the one it waited for is done, a third took over)
        if (c.status !== 'pending' && !(c.status === 'waiting' && c.delegatedTo !== command.to))
          return [];
        return [
          makeEvent({
            ...base,
            streamId: streams.computation(run.runId, c.name),
            causationId: command.causationId,
            type: 'ComputationDelegated',
            eventId: eventIds.computationDelegated(run.runId, c.name, command.to),
            payload: {
              runId: run.runId,
              date: run.date,
              computation: c.name,
              pass: c.pass,
              to: command.to,
            },
          }),
        ];
      }
      case 'Dispatch': {
        const c = requireComputation(run, command.computation);
        // fencing: a superseded attempt or a decided computation dispatches nothing
        if (c.status !== 'running' || c.attempt !== command.attempt) return [];
        const causation = eventIds.computationStarted(run.runId, c.name, c.attempt);
        return dueBatches(c, command.batches, command.retries).map((b) =>
          batchRequested(run, c.name, c.attempt, b, b.retry, causation, command.now, {
            resultVersion: c.resultVersion ?? undefined,
            readVersions: c.readVersions,
            scoped: c.scoped,
          }),
        );
      }
      case 'OpenCircuit': {
        const c = requireComputation(run, command.computation);
        if (c.status !== 'running' || c.attempt !== command.attempt || c.circuitOpen) return [];
        return [
          makeEvent({
            ...base,
            streamId: streams.computation(run.runId, c.name),
            causationId: eventIds.computationStarted(run.runId, c.name, c.attempt),
            type: 'CircuitOpened',
            eventId: eventIds.circuitOpened(run.runId, c.name, c.attempt),
            payload: {
              runId: run.runId,
              date: run.date,
              computation: c.name,
              attempt: c.attempt,
              calls: command.calls,
              failures: command.failures,
              message: command.message,
            },
          }),
        ];
      }
      case 'Complete': {
        const c = requireComputation(run, command.computation);
        if (c.status !== 'running' || c.attempt !== command.attempt) return [];
        // an attempt that cannot go on (finaliseError) fails without waiting for its batches
        if (!c.circuitOpen && !command.finaliseError && !allBatchesSettled(c, command.retries))
          return [];
        const o = attemptOutcome(c, command.retries);
        if (command.finaliseError)
          o.batchErrors.push({
            batch: -1,
            message: `could not finalise results: ${command.finaliseError}`,
          });
        const total = c.entityCount;
        const failure = completionFailure(o, total, command.failureTolerance);
        const status: Status = failure ? 'failed' : 'completed';
        const reason: Reason = failure ?? c.startReason ?? { code: 'first-run' };
        const published = status === 'completed' && !run.dryRun;
        return [
          computationCompleted(
            run,
            c,
            eventIds.computationStarted(run.runId, c.name, c.attempt),
            command.now,
            {
              status,
              reason,
              compositeHash: c.compositeHash,
              hashParts: c.hashParts,
              resultHash: published ? command.resultHash : null,
              resultVersion: published ? command.resultVersion : null,
              entities: {
                total,
                succeeded: Math.max(0, o.processed - o.failed),
                failed: o.failed,
                saved: o.saved,
              },
              failedEntities: o.failures,
              scoped: c.scoped,
              forced: c.forced,
              durationMs: c.startedAt ? ms(c.startedAt, command.now) : 0,
            },
          ),
        ];
      }
      case 'Advance':
        return advance(run, command.causationId, command.now);
      case 'Abandon':
        return abandon(run, command.message, command.now);
      default: {
        const never: never = command;
        throw new Error(`unhandled command ${JSON.stringify(never)}`);
      }
    }
  },
};

function batchRequested(
  run: RunView,
  computation: string,
  attempt: number,
  b: PlannedBatch,
  retry: number,
  causationId: string,
  now: string,
  target: { resultVersion: string | undefined; readVersions: ReadVersions; scoped: boolean },
): Envelope {
  return makeEvent({
    type: 'BatchRequested',
    streamId: streams.batch(run.runId, computation, b.batch),
    correlationId: run.runId,
    causationId,
    producer: EXECUTOR,
    occurredAt: now,
    eventId: eventIds.batchRequested(run.runId, computation, attempt, b.batch, retry),
    payload: {
      runId: run.runId,
      date: run.date,
      computation,
      attempt,
      batch: b.batch,
      retry,
      entityIds: b.entityIds,
      dryRun: run.dryRun,
      scoped: target.scoped,
      resultVersion: target.resultVersion,
      readVersions: target.readVersions,
    },
  });
}

/** A run restricted to some entities restricts per-entity work only; global computations run whole. */
export function isScoped(run: RunView, c: ComputationRunView): boolean {
  return run.entityIds !== null && c.type === 'per-entity';
}

/** Why a started computation failed, or null when it completed (entity failures within tolerance). */
export function completionFailure(
  o: BatchesOutcome,
  total: number,
  failureTolerance: number,
): Reason | null {
  if (o.circuitOpen !== null) return { code: 'circuit-open', message: o.circuitOpen };
  if (o.batchErrors.length > 0) {
    const first = o.batchErrors[0];
    const where = first.batch >= 0 ? `batch ${first.batch}: ` : '';
    return {
      code: 'error',
      message: `${o.batchErrors.length} batch(es) failed after retries; ${where}${first.message}`,
    };
  }
  const failed = o.failed;
  if (failed > 0 && failed > failureTolerance * total)
    return { code: 'entity-failures', failed, total };
  return null;
}

function runCompleted(
  run: RunView,
  status: 'completed' | 'failed' | 'abandoned',
  counts: Record<Status, number>,
  causationId: string | null,
  now: string,
): Envelope {
  return makeEvent({
    streamId: streams.run(run.runId),
    correlationId: run.runId,
    causationId,
    producer: EXECUTOR,
    occurredAt: now,
    type: 'RunCompleted',
    eventId: eventIds.runCompleted(run.runId),
    payload: {
      runId: run.runId,
      date: run.date,
      status,
      counts,
      durationMs: ms(run.requestedAt, now),
    },
  });
}

function countStatuses(run: RunView, extra: Partial<Record<Status, number>> = {}) {
  const counts: Record<Status, number> = {
    completed: 0,
    skipped: 0,
    blocked: 0,
    impossible: 0,
    failed: 0,
  };
  for (const c of Object.values(run.computations))
    if (TERMINAL.has(c.status)) counts[c.status as Status]++;
  for (const [s, n] of Object.entries(extra)) counts[s as Status] += n ?? 0;
  return counts;
}

/** When every computation of the current pass is decided: the next pass, or the run's end. */
function advance(run: RunView, causationId: string, now: string): Envelope[] {
  if (isOver(run)) return [];
  const pass = run.currentPass ?? 0;
  const names = run.passes[pass] ?? [];
  if (!names.every((n) => TERMINAL.has(run.computations[n]?.status))) return [];
  if (pass + 1 < run.passes.length) {
    return [
      makeEvent({
        streamId: streams.run(run.runId),
        correlationId: run.runId,
        causationId,
        producer: EXECUTOR,
        occurredAt: now,
        type: 'PassReady',
        eventId: eventIds.passReady(run.runId, pass + 1),
        payload: {
          runId: run.runId,
          date: run.date,
          pass: pass + 1,
          computations: run.passes[pass + 1],
        },
      }),
    ];
  }
  const counts = countStatuses(run);
  return [runCompleted(run, counts.failed > 0 ? 'failed' : 'completed', counts, causationId, now)];
}

/**
 * The run's process died: each computation it left undecided is completed as failed (reason
 * `abandoned`; its result version was never named, so readers keep the previous one) and the run
 * ends `abandoned`.
 */
function abandon(run: RunView, message: string, now: string): Envelope[] {
  if (isOver(run)) return [];
  const undecided = Object.values(run.computations).filter((c) => !TERMINAL.has(c.status));
  const reason: Reason = { code: 'abandoned', message };
  const events = undecided.map((c) =>
    computationCompleted(run, c, null, now, {
      status: 'failed',
      reason,
      compositeHash: c.compositeHash,
      hashParts: c.hashParts,
      resultHash: null,
      resultVersion: null,
      entities: {
        total: c.entityCount,
        succeeded: Math.max(0, c.processed - c.failed),
        failed: c.failed,
        saved: c.saved,
      },
      failedEntities: c.failedEntities.slice(0, MAX_FAILED_ENTITIES_REPORTED),
      scoped: c.scoped,
      forced: c.forced,
      durationMs: c.startedAt ? ms(c.startedAt, now) : 0,
    }),
  );
  const counts = countStatuses(run, { failed: undecided.length });
  return [...events, runCompleted(run, 'abandoned', counts, null, now)];
}

/** The one way a computation's decision is recorded: ComputationCompleted on its own stream. */
function computationCompleted(
  run: RunView,
  c: { name: string; pass: number },
  causationId: string | null,
  now: string,
  outcome: Omit<
    PayloadOf<'ComputationCompleted'>,
    'runId' | 'date' | 'computation' | 'pass' | 'dryRun'
  >,
): Envelope {
  return makeEvent({
    streamId: streams.computation(run.runId, c.name),
    correlationId: run.runId,
    causationId,
    producer: EXECUTOR,
    occurredAt: now,
    type: 'ComputationCompleted',
    eventId: eventIds.computationCompleted(run.runId, c.name),
    payload: {
      runId: run.runId,
      date: run.date,
      computation: c.name,
      pass: c.pass,
      dryRun: run.dryRun,
      ...outcome,
    },
  });
}
