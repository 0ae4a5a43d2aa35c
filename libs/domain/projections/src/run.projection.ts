import type { EntityFailure, Envelope, HashParts, Reason, Status } from '@almanac/contracts';
import { assertNever, type Projection } from './projection';

export type RunStatus = 'requested' | 'planned' | 'running' | 'completed' | 'failed' | 'rejected';
export type ComputationRunStatus = 'pending' | 'running' | Status;

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
  processed: number;
  saved: number;
  failed: number;
  failedEntities: EntityFailure[];
  compositeHash: string | null;
  hashParts: HashParts | null;
  /** why it was started (first-run, changed, forced, scoped) */
  startReason: Reason | null;
  scoped: boolean;
  forced: boolean;
  resultHash: string | null;
  startedAt: string | null;
  completedAt: string | null;
  durationMs: number | null;
  circuitOpen: boolean;
  /** executor that owns the current attempt */
  owner: string | null;
  /** last sign of life of the current attempt: its start or its latest BatchDone */
  lastProgressAt: string | null;
}

export interface RunView {
  runId: string;
  date: string;
  status: RunStatus;
  targets: string[];
  entityIds: string[] | null;
  force: boolean;
  dryRun: boolean;
  requestedBy: string;
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
  'BatchRequested',
  'BatchDone',
  'CircuitOpened',
  'ComputationCompleted',
  'RunCompleted',
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
        dryRun: p.dryRun,
        requestedBy: p.requestedBy,
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
          processed: 0,
          saved: 0,
          failed: 0,
          failedEntities: [],
          compositeHash: null,
          hashParts: null,
          startReason: null,
          scoped: false,
          forced: false,
          resultHash: null,
          startedAt: null,
          completedAt: null,
          durationMs: null,
          circuitOpen: false,
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
      return;
    }
    case 'BatchRequested':
      return;
    case 'BatchDone': {
      const p = event.payload;
      const c = view[p.runId]?.computations[p.computation];
      if (!c || p.attempt !== c.attempt) return;
      if (!c.lastProgressAt || event.occurredAt > c.lastProgressAt)
        c.lastProgressAt = event.occurredAt;
      if (p.error !== undefined || c.batchesDone[p.batch]) return;
      c.batchesDone[p.batch] = true;
      c.processed += p.processed;
      c.saved += p.saved;
      c.failed += p.failures.length;
      return;
    }
    case 'CircuitOpened': {
      const c = view[event.payload.runId]?.computations[event.payload.computation];
      if (c) c.circuitOpen = true;
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
    default:
      assertNever(event);
  }
}
