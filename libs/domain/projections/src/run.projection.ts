import {
  resultVersionOf,
  type EntityFailure,
  type Envelope,
  type HashParts,
  type ReadVersions,
  type Reason,
  type Status,
} from '@almanac/contracts';
import { assertNever, type Projection } from './projection';

export type RunStatus =
  'requested' | 'planned' | 'running' | 'completed' | 'failed' | 'rejected' | 'abandoned';
/** waiting: another run executes this (computation, date); this one uses its result */
export type ComputationRunStatus = 'pending' | 'running' | 'waiting' | Status;

/** The last failed try of a batch in the current attempt. */
export interface BatchError {
  retry: number;
  message: string;
  /** retrying cannot fix it (bad input): the batch fails at once and the breaker ignores it */
  permanent: boolean;
}

/** Runs that are over: nothing more is decided for them. */
export const FINISHED_RUN: ReadonlySet<RunStatus> = new Set([
  'completed',
  'failed',
  'rejected',
  'abandoned',
]);

export interface ComputationRunView {
  name: string;
  pass: number;
  type: 'global' | 'per-entity';
  dependencies: string[];
  codeHash: string;
  /** path -> hash of each code file, as planned */
  codeFiles: Record<string, string>;
  status: ComputationRunStatus;
  reason: Reason | null;
  attempt: number;
  entityCount: number;
  batchCount: number;
  /** batch index -> true once a BatchDone without a batch error arrived for the current attempt */
  batchesDone: Record<string, true>;
  /** batch index -> the highest try (retry) requested in the current attempt */
  batchTries: Record<string, number>;
  /** batch index -> its failed try with the highest retry, while it has not succeeded */
  batchErrors: Record<string, BatchError>;
  /** tries answered in the current attempt ("batch:retry"), each counted once */
  answered: Record<string, true>;
  /** answers of the current attempt, and how many were (retryable) failures: the breaker's stats */
  calls: number;
  callFailures: number;
  /** batches in flight at once (ComputationStarted); null: every batch at once */
  lanes: number | null;
  /** the version this attempt writes, then (once completed or skipped) the one readers see */
  resultVersion: string | null;
  /** the versions its batches read */
  readVersions: ReadVersions;
  /** the run it waits for (status waiting), or whose result it used */
  delegatedTo: string | null;
  processed: number;
  saved: number;
  failed: number;
  failedEntities: EntityFailure[];
  compositeHash: string | null;
  hashParts: HashParts | null;
  /** why it was started (first-run, changed, forced, scoped) */
  startReason: Reason | null;
  scoped: boolean;
  /** this run re-runs it even if nothing changed (--force on it, or --force-upstream) */
  forced: boolean;
  resultHash: string | null;
  startedAt: string | null;
  completedAt: string | null;
  durationMs: number | null;
  circuitOpen: boolean;
  /** why the breaker opened (CircuitOpened) */
  circuitMessage: string | null;
  /** executor that owns the current attempt */
  owner: string | null;
  /** last sign of life of the current attempt: its start or its latest BatchDone */
  lastProgressAt: string | null;
  /** the export of its result version to BigQuery (ADR 0026); null: none recorded */
  export: ResultsExportView | null;
}

/** The latest news of a computation's results export: exported, or the last failed attempt. */
export type ResultsExportView =
  | { status: 'exported'; version: string; table: string; rows: number; at: string }
  | {
      status: 'failed';
      version: string;
      table: string;
      attempt: number;
      error: string;
      retryable: boolean;
      at: string;
    };

export interface RunView {
  runId: string;
  date: string;
  status: RunStatus;
  targets: string[];
  entityIds: string[] | null;
  /** the request's --force: its targets re-run even if nothing changed */
  force: boolean;
  /** the request's --force-upstream: its targets and their dependencies re-run */
  forceUpstream: boolean;
  dryRun: boolean;
  requestedBy: string;
  /** the process that runs it, when the requester says (embedded profile) */
  process: string | null;
  trigger: string;
  requestedAt: string;
  completedAt: string | null;
  durationMs: number | null;
  passes: string[][];
  currentPass: number | null;
  /** pass -> when it was made ready */
  passReadyAt: Record<string, string>;
  computations: Record<string, ComputationRunView>;
  rejection: { code: string; message: string } | null;
}

export type RunsView = Record<string, RunView>;

const RUN_EVENTS = [
  'RunRequested',
  'RunPlanned',
  'RunRejected',
  'PassReady',
  'ComputationStarted',
  'ComputationDelegated',
  'BatchRequested',
  'BatchDone',
  'CircuitOpened',
  'ComputationCompleted',
  'RunCompleted',
  'ResultsExported',
  'ResultsExportFailed',
] as const;

/** Every run and the progress of each of its computations. */
export const runProjection: Projection<RunsView> = {
  name: 'runs',
  handles: RUN_EVENTS,
  initial: () => ({}),
  evolve(view, event) {
    evolveRun(view, event);
    return view;
  },
};

function evolveRun(view: RunsView, event: Envelope): void {
  switch (event.type) {
    case 'RunRequested': {
      const p = event.payload;
      view[p.runId] ??= {
        runId: p.runId,
        date: p.date,
        status: 'requested',
        targets: p.targets,
        entityIds: p.entityIds ?? null,
        force: p.force,
        forceUpstream: p.forceUpstream,
        dryRun: p.dryRun,
        requestedBy: p.requestedBy,
        process: event.metadata?.process ?? null,
        trigger: p.trigger,
        requestedAt: event.occurredAt,
        completedAt: null,
        durationMs: null,
        passes: [],
        currentPass: null,
        passReadyAt: {},
        computations: {},
        rejection: null,
      };
      return;
    }
    case 'RunPlanned': {
      const run = view[event.payload.runId];
      if (!run) return;
      run.status = 'planned';
      run.passes = event.payload.passes;
      // a plan recorded before plans named the forced computations: force forced them all
      const forced = event.payload.forced;
      for (const c of event.payload.computations) {
        run.computations[c.name] ??= {
          name: c.name,
          pass: c.pass,
          type: c.type,
          dependencies: c.dependencies,
          codeHash: c.codeHash,
          codeFiles: c.codeFiles,
          status: 'pending',
          reason: null,
          attempt: 0,
          entityCount: 0,
          batchCount: 0,
          batchesDone: {},
          batchTries: {},
          batchErrors: {},
          answered: {},
          calls: 0,
          callFailures: 0,
          lanes: null,
          resultVersion: null,
          readVersions: {},
          delegatedTo: null,
          processed: 0,
          saved: 0,
          failed: 0,
          failedEntities: [],
          compositeHash: null,
          hashParts: null,
          startReason: null,
          scoped: false,
          forced: forced ? forced.includes(c.name) : run.force,
          resultHash: null,
          startedAt: null,
          completedAt: null,
          durationMs: null,
          circuitOpen: false,
          circuitMessage: null,
          export: null,
          owner: null,
          lastProgressAt: null,
        };
      }
      return;
    }
    case 'RunRejected': {
      const run = view[event.payload.runId];
      if (!run) return;
      run.status = 'rejected';
      run.rejection = { code: event.payload.code, message: event.payload.message };
      run.completedAt = event.occurredAt;
      return;
    }
    case 'PassReady': {
      const run = view[event.payload.runId];
      if (!run) return;
      run.status = 'running';
      run.currentPass = Math.max(run.currentPass ?? 0, event.payload.pass);
      run.passReadyAt[event.payload.pass] ??= event.occurredAt;
      return;
    }
    case 'ComputationStarted': {
      const c = view[event.payload.runId]?.computations[event.payload.computation];
      if (!c || event.payload.attempt < c.attempt) return;
      c.status = 'running';
      if (event.payload.attempt > c.attempt) {
        c.batchesDone = {};
        c.batchTries = {};
        c.batchErrors = {};
        c.answered = {};
        c.calls = 0;
        c.callFailures = 0;
        c.circuitOpen = false;
        c.circuitMessage = null;
        c.processed = 0;
        c.saved = 0;
        c.failed = 0;
        c.failedEntities = [];
      }
      c.attempt = event.payload.attempt;
      c.entityCount = event.payload.entityCount;
      c.batchCount = event.payload.batchCount;
      c.compositeHash = event.payload.compositeHash;
      c.hashParts = event.payload.hashParts;
      c.startReason = event.payload.reason;
      c.scoped = event.payload.scoped;
      c.forced = event.payload.forced;
      c.startedAt ??= event.occurredAt;
      c.owner = event.payload.owner;
      c.lastProgressAt = event.occurredAt;
      c.lanes = event.payload.lanes ?? null;
      c.resultVersion = event.payload.resultVersion ?? null;
      c.readVersions = event.payload.readVersions;
      return;
    }
    case 'ComputationDelegated': {
      const c = view[event.payload.runId]?.computations[event.payload.computation];
      if (!c || (c.status !== 'pending' && c.status !== 'waiting')) return;
      c.status = 'waiting';
      c.delegatedTo = event.payload.to;
      return;
    }
    case 'BatchRequested': {
      const p = event.payload;
      const c = view[p.runId]?.computations[p.computation];
      if (!c || p.attempt !== c.attempt) return;
      c.batchTries[p.batch] = Math.max(c.batchTries[p.batch] ?? 0, p.retry);
      return;
    }
    case 'BatchDone': {
      const p = event.payload;
      const c = view[p.runId]?.computations[p.computation];
      if (!c || p.attempt !== c.attempt) return;
      if (!c.lastProgressAt || event.occurredAt > c.lastProgressAt)
        c.lastProgressAt = event.occurredAt;
      const key = `${p.batch}:${p.retry}`;
      if (c.answered[key]) return;
      c.answered[key] = true;
      c.calls++;
      if (p.error !== undefined && !p.permanent) c.callFailures++;
      if (c.batchesDone[p.batch]) return;
      if (p.error !== undefined) {
        const last = c.batchErrors[p.batch];
        if (!last || p.retry >= last.retry)
          c.batchErrors[p.batch] = {
            retry: p.retry,
            message: p.error,
            permanent: p.permanent === true,
          };
        return;
      }
      // a success from any try answers the batch (its results are idempotent writes)
      delete c.batchErrors[p.batch];
      c.batchesDone[p.batch] = true;
      c.processed += p.processed;
      c.saved += p.saved;
      c.failed += p.failures.length;
      for (const f of p.failures)
        if (c.failedEntities.length < MAX_FAILED_ENTITIES_KEPT) c.failedEntities.push(f);
      return;
    }
    case 'CircuitOpened': {
      const c = view[event.payload.runId]?.computations[event.payload.computation];
      if (!c || event.payload.attempt !== c.attempt) return;
      c.circuitOpen = true;
      c.circuitMessage = event.payload.message;
      return;
    }
    case 'ComputationCompleted': {
      const p = event.payload;
      const c = view[p.runId]?.computations[p.computation];
      if (!c) return;
      c.status = p.status;
      c.reason = p.reason;
      c.compositeHash = p.compositeHash;
      c.hashParts = p.hashParts;
      c.resultHash = p.resultHash;
      c.entityCount = p.entities.total;
      c.processed = p.entities.succeeded + p.entities.failed;
      c.saved = p.entities.saved;
      c.failed = p.entities.failed;
      c.failedEntities = p.failedEntities;
      c.completedAt = event.occurredAt;
      c.durationMs = p.durationMs;
      c.resultVersion = resultVersionOf(p);
      if (p.reason.code === 'delegated') c.delegatedTo = p.reason.runId;
      return;
    }
    case 'RunCompleted': {
      const run = view[event.payload.runId];
      if (!run) return;
      run.status = event.payload.status;
      run.completedAt = event.occurredAt;
      run.durationMs = event.payload.durationMs;
      return;
    }
    case 'ResultsExported': {
      const p = event.payload;
      const c = view[p.runId]?.computations[p.computation];
      if (!c) return;
      c.export = {
        status: 'exported',
        version: p.version,
        table: p.table,
        rows: p.rows,
        at: event.occurredAt,
      };
      return;
    }
    case 'ResultsExportFailed': {
      const p = event.payload;
      const c = view[p.runId]?.computations[p.computation];
      // a late failure (redelivered after the export succeeded) does not undo it
      if (!c || (c.export?.status === 'exported' && c.export.version === p.version)) return;
      c.export = {
        status: 'failed',
        version: p.version,
        table: p.table,
        attempt: p.attempt,
        error: p.error,
        retryable: p.retryable,
        at: event.occurredAt,
      };
      return;
    }
    case 'ExecutionClaimed':
    case 'ComputationsInvalidated':
    case 'ResultVersionsExpired':
    case 'SchedulePaused':
    case 'ScheduleResumed':
    case 'BackfillRequested':
      return;
    default:
      assertNever(event);
  }
}

/** Failed entities a computation's view keeps while it runs (the count is kept in full). */
export const MAX_FAILED_ENTITIES_KEPT = 1000;

/**
 * The runs still going, as the executor needs them: the run projection, with a run dropped once
 * it is over (so the view stays as small as the work in progress). Late events of a dropped run
 * find nothing and change nothing.
 */
export const activeRunsProjection: Projection<RunsView> = {
  name: 'active-runs',
  handles: RUN_EVENTS,
  initial: () => ({}),
  evolve(view, event) {
    evolveRun(view, event);
    const runId = (event.payload as { runId?: string }).runId;
    if (runId && view[runId] && FINISHED_RUN.has(view[runId].status)) delete view[runId];
    return view;
  },
};

/** (requestedAt, runId): the order runs are listed in. */
export type RunKey = [requestedAt: string, runId: string];

export const runKey = (run: Pick<RunView, 'requestedAt' | 'runId'>): RunKey => [
  run.requestedAt,
  run.runId,
];

/** Negative when `a` was requested before `b` (ties: by run id), 0 when equal. */
export function compareRunKeys(a: RunKey, b: RunKey): number {
  if (a[0] !== b[0]) return a[0] < b[0] ? -1 : 1;
  return a[1] < b[1] ? -1 : a[1] > b[1] ? 1 : 0;
}

export interface RecentRunsView {
  /** every run still going, and the `keep` finished runs requested last */
  runs: RunsView;
  /**
   * the key of the newest finished run dropped (null: none yet). Every finished run whose key is
   * after it is in `runs`; none at or before it is.
   */
  horizon: RunKey | null;
  /** finished runs dropped from `runs`, by status */
  dropped: Partial<Record<RunStatus, number>>;
  /** the dropped runs that have a duration (RunCompleted), and the sum of their durations */
  droppedDurations: { runs: number; totalMs: number };
}

/**
 * The run projection bounded in memory: every run still going, and of the finished runs the
 * `keep` requested last (the ones list pages show first). An older run is dropped when it
 * finishes; its view is folded again from its own streams when asked for. The bound is in the
 * name, so a checkpoint folded with another bound has another fingerprint.
 */
export function recentRunsProjection(keep: number): Projection<RecentRunsView> {
  if (!Number.isInteger(keep) || keep < 1)
    throw new RangeError(`keep must be a positive integer, got ${keep}`);
  const drop = (view: RecentRunsView, run: RunView) => {
    delete view.runs[run.runId];
    view.dropped[run.status] = (view.dropped[run.status] ?? 0) + 1;
    if (run.durationMs !== null) {
      view.droppedDurations.runs++;
      view.droppedDurations.totalMs += run.durationMs;
    }
  };
  return {
    name: `recent-runs(${keep})`,
    handles: RUN_EVENTS,
    initial: () => ({
      runs: {},
      horizon: null,
      dropped: {},
      droppedDurations: { runs: 0, totalMs: 0 },
    }),
    evolve(view, event) {
      const runId = (event.payload as { runId?: string }).runId;
      const before = runId === undefined ? undefined : view.runs[runId]?.status;
      evolveRun(view.runs, event);
      const run = runId === undefined ? undefined : view.runs[runId];
      const justFinished =
        run && FINISHED_RUN.has(run.status) && !(before && FINISHED_RUN.has(before));
      if (!run || !justFinished) return view;
      if (view.horizon && compareRunKeys(runKey(run), view.horizon) <= 0) {
        drop(view, run);
        return view;
      }
      const finished = Object.values(view.runs).filter((r) => FINISHED_RUN.has(r.status));
      if (finished.length <= keep) return view;
      const oldest = finished.reduce((a, b) => (compareRunKeys(runKey(a), runKey(b)) <= 0 ? a : b));
      drop(view, oldest);
      view.horizon = runKey(oldest);
      return view;
    },
  };
}
