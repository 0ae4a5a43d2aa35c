import type { Reason } from '@almanac/contracts';
import type { ResultsExportView, RunStatus } from '@almanac/domain/projections';

/**
 * The JSON the api answers (what the status page, curl users and the OpenAPI document see).
 * Every field comes from projections of the event log.
 */

/** GET /computations (?date=YYYY-MM-DD adds each computation's latest status for that date) */
export interface ComputationsResponse {
  /** computation names by pass (pass 0 first) */
  passes: string[][];
  computations: ComputationInfo[];
  date: string | null;
}

export interface ComputationInfo {
  name: string;
  type: 'global' | 'per-entity';
  pass: number;
  dependencies: string[];
  schedule: { frequency: string; time: string; timezone: string };
  codeHash: string;
  /** present when ?date= was given */
  latest?: ComputationStatus;
}

/** the latest decision of a computation for a date ("never-run" when there is none) */
export interface ComputationStatus {
  date: string;
  status: string;
  reason: Reason | null;
  /** the reason as a sentence */
  why: string;
  runId: string | null;
  at: string | null;
  resultHash: string | null;
  entities: number | null;
  failedEntities: string[];
}

/** GET /runs */
export interface RunsPage {
  runs: RunSummary[];
  /** pass it back as ?cursor= for the next page; null on the last page */
  nextCursor: string | null;
}

export interface RunSummary {
  runId: string;
  date: string;
  status: RunStatus;
  targets: string[];
  force: boolean;
  forceUpstream: boolean;
  dryRun: boolean;
  requestedBy: string;
  requestedAt: string;
  completedAt: string | null;
  /** completed: the run's duration; active: time since it was requested */
  elapsedMs: number;
  /** computation status -> how many */
  counts: Record<string, number>;
  /** computations that failed, were blocked or impossible, with why */
  errors: Array<{ computation: string; status: string; message: string }>;
  rejection: { code: string; message: string } | null;
  /** the export of each computation's results to BigQuery that was recorded (ADR 0026) */
  exports: Array<{ computation: string } & ResultsExportView>;
}

/** GET /runs/:id/events */
export interface RunTimeline {
  runId: string;
  events: TimelineEntry[];
}

export interface TimelineEntry {
  position: string;
  recordedAt: string;
  occurredAt: string;
  type: string;
  eventId: string;
  producer: string;
  computation: string | null;
  /** one line saying what happened */
  summary: string;
  payload: unknown;
  /** the trace the event belongs to (its metadata.traceId, ADR 0022), null when untraced */
  traceId: string | null;
}
