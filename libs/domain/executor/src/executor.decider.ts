import {
  eventIds,
  makeEvent,
  streams,
  type EntityFailure,
  type Envelope,
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

export interface ExecutorSettings {
  batchSize: number;
  maxInFlight: number;
  leaseMs: number;
}

export const DEFAULT_EXECUTOR_SETTINGS: ExecutorSettings = {
  batchSize: 1000,
  maxInFlight: 100,
  leaseMs: 60 * 60 * 1000,
};

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
    }
  | {
      type: 'RequestBatch';
      runId: string;
      computation: string;
      attempt: number;
      batch: number;
      retry: number;
      entityIds: string[];
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
      outcome: BatchesOutcome;
      failureTolerance: number;
      resultHash: string | null;
      now: string;
    }
  | { type: 'Advance'; runId: string; causationId: string; now: string };

export interface BatchesOutcome {
  processed: number;
  saved: number;
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
          return [
            makeEvent({
              ...base,
              streamId,
              causationId: command.causationId,
              type: 'ComputationStarted',
              eventId: eventIds.computationStarted(run.runId, c.name, attempt),
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
                forced: run.force,
                reason: e.reason,
              },
            }),
          ];
        }
        return [
          makeEvent({
            ...base,
            streamId,
            causationId: command.causationId,
            type: 'ComputationCompleted',
            eventId: eventIds.computationCompleted(run.runId, c.name),
            payload: {
              runId: run.runId,
              date: run.date,
              computation: c.name,
              pass: c.pass,
              status: e.status,
              reason: e.reason,
              compositeHash: e.kind === 'skipped' ? e.compositeHash : null,
              hashParts: e.kind === 'skipped' ? e.hashParts : null,
              resultHash: e.kind === 'skipped' ? e.resultHash : null,
              entities: { total: 0, succeeded: 0, failed: 0, saved: 0 },
              failedEntities: [],
              scoped: isScoped(run, c),
              dryRun: run.dryRun,
              forced: run.force,
              durationMs: command.durationMs,
            },
          }),
        ];
      }
      case 'RequestBatch': {
        const c = requireComputation(run, command.computation);
        // fencing: a superseded attempt or a decided computation dispatches nothing
        if (c.status !== 'running' || c.attempt !== command.attempt) return [];
        return [
          makeEvent({
            ...base,
            streamId: streams.computation(run.runId, c.name),
            causationId: eventIds.computationStarted(run.runId, c.name, c.attempt),
            type: 'BatchRequested',
            eventId: eventIds.batchRequested(
              run.runId,
              c.name,
              c.attempt,
              command.batch,
              command.retry,
            ),
            payload: {
              runId: run.runId,
              date: run.date,
              computation: c.name,
              attempt: c.attempt,
              batch: command.batch,
              retry: command.retry,
              entityIds: command.entityIds,
              dryRun: run.dryRun,
              scoped: c.scoped,
            },
          }),
        ];
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
        const o = command.outcome;
        const total = c.entityCount;
        const failed = o.failures.length;
        const failure = completionFailure(o, total, command.failureTolerance);
        const status: Status = failure ? 'failed' : 'completed';
        const reason: Reason = failure ?? c.startReason ?? { code: 'first-run' };
        return [
          makeEvent({
            ...base,
            streamId: streams.computation(run.runId, c.name),
            causationId: eventIds.computationStarted(run.runId, c.name, c.attempt),
            type: 'ComputationCompleted',
            eventId: eventIds.computationCompleted(run.runId, c.name),
            payload: {
              runId: run.runId,
              date: run.date,
              computation: c.name,
              pass: c.pass,
              status,
              reason,
              compositeHash: c.compositeHash,
              hashParts: c.hashParts,
              resultHash: status === 'completed' && !run.dryRun ? command.resultHash : null,
              entities: {
                total,
                succeeded: Math.max(0, o.processed - failed),
                failed,
                saved: o.saved,
              },
              failedEntities: o.failures.slice(0, MAX_FAILED_ENTITIES_REPORTED),
              scoped: c.scoped,
              dryRun: run.dryRun,
              forced: c.forced,
              durationMs: c.startedAt ? ms(c.startedAt, command.now) : 0,
            },
          }),
        ];
      }
      case 'Advance':
        return advance(run, command.causationId, command.now);
      default: {
        const never: never = command;
        throw new Error(`unhandled command ${JSON.stringify(never)}`);
      }
    }
  },
};

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
  const failed = o.failures.length;
  if (failed > 0 && failed > failureTolerance * total)
    return { code: 'entity-failures', failed, total };
  return null;
}

/** When every computation of the current pass is decided: the next pass, or the run's end. */
function advance(run: RunView, causationId: string, now: string): Envelope[] {
  if (run.status === 'completed' || run.status === 'failed' || run.status === 'rejected') return [];
  const pass = run.currentPass ?? 0;
  const names = run.passes[pass] ?? [];
  if (!names.every((n) => TERMINAL.has(run.computations[n]?.status))) return [];
  const base = {
    streamId: streams.run(run.runId),
    correlationId: run.runId,
    causationId,
    producer: EXECUTOR,
    occurredAt: now,
  };
  if (pass + 1 < run.passes.length) {
    return [
      makeEvent({
        ...base,
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
  const counts: Record<Status, number> = {
    completed: 0,
    skipped: 0,
    blocked: 0,
    impossible: 0,
    failed: 0,
  };
  for (const c of Object.values(run.computations))
    if (TERMINAL.has(c.status)) counts[c.status as Status]++;
  return [
    makeEvent({
      ...base,
      type: 'RunCompleted',
      eventId: eventIds.runCompleted(run.runId),
      payload: {
        runId: run.runId,
        date: run.date,
        status: counts.failed > 0 ? 'failed' : 'completed',
        counts,
        durationMs: ms(run.requestedAt, now),
      },
    }),
  ];
}
