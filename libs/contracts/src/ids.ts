/**
 * Deterministic event ids and stream ids: an event's id is derived from what it answers, so a
 * redelivered message produces the same id and the log rejects the copy.
 */
export const streams = {
  run: (runId: string) => `run-${runId}`,
  computation: (runId: string, computation: string) => `run-${runId}-${computation}`,
  /**
   * one stream per batch, so that the batch events of a computation do not contend on one
   * stream (one Spanner row range); `readStreamsByPrefix(batchesOf(...))` reads them all
   */
  batch: (runId: string, computation: string, batch: number) =>
    `run-${runId}-${computation}#b${batch}`,
  batchesOf: (runId: string, computation: string) => `run-${runId}-${computation}#b`,
  /** the claim stream of a (computation, date): who executes it, appended with expected versions */
  execution: (computation: string, date: string) => `execution-${computation}-${date}`,
  /** an operator's invalidation (ADR 0018) */
  invalidation: (invalidationId: string) => `invalidation-${invalidationId}`,
  /** the expiries of a computation's results (ADR 0018) */
  retention: (computation: string) => `retention-${computation}`,
  /** a computation's schedule: SchedulePaused / ScheduleResumed, appended with expected versions */
  schedule: (computation: string) => `schedule-${computation}`,
};

export const eventIds = {
  runRequested: (runId: string) => `RunRequested:${runId}`,
  runPlanned: (runId: string) => `RunPlanned:${runId}`,
  runRejected: (runId: string) => `RunRejected:${runId}`,
  passReady: (runId: string, pass: number) => `PassReady:${runId}:${pass}`,
  computationStarted: (runId: string, c: string, attempt: number) =>
    `ComputationStarted:${runId}:${c}:${attempt}`,
  batchRequested: (runId: string, c: string, attempt: number, batch: number, retry = 0) =>
    `BatchRequested:${runId}:${c}:${attempt}:${batch}:${retry}`,
  batchDone: (runId: string, c: string, attempt: number, batch: number, retry = 0) =>
    `BatchDone:${runId}:${c}:${attempt}:${batch}:${retry}`,
  circuitOpened: (runId: string, c: string, attempt: number) =>
    `CircuitOpened:${runId}:${c}:${attempt}`,
  computationCompleted: (runId: string, c: string) => `ComputationCompleted:${runId}:${c}`,
  runCompleted: (runId: string) => `RunCompleted:${runId}`,
  computationDelegated: (runId: string, c: string, to: string) =>
    `ComputationDelegated:${runId}:${c}:${to}`,
  executionClaimed: (runId: string, c: string, date: string) =>
    `ExecutionClaimed:${runId}:${c}:${date}`,
  computationsInvalidated: (invalidationId: string) => `ComputationsInvalidated:${invalidationId}`,
  /** `digest`: of the sorted versions expired, so two sweeps expiring the same append once */
  resultVersionsExpired: (c: string, date: string, digest: string) =>
    `ResultVersionsExpired:${c}:${date}:${digest}`,
  /** the n-th event of the computation's schedule stream: two operators' clicks append one */
  scheduleChanged: (c: string, type: 'SchedulePaused' | 'ScheduleResumed', n: number) =>
    `${type}:${c}:${n}`,
  /** one per version: a redelivered export appends it once */
  resultsExported: (c: string, date: string, version: string) =>
    `ResultsExported:${c}:${date}:${version}`,
  resultsExportFailed: (c: string, date: string, version: string, attempt: number) =>
    `ResultsExportFailed:${c}:${date}:${version}:${attempt}`,
};

/** The topic each event type is published on. */
export const topics = {
  runs: 'almanac.runs', // RunRequested, RunPlanned, RunRejected, RunCompleted, Schedule*, BackfillRequested
  passes: 'almanac.passes', // PassReady
  batches: 'almanac.batches', // BatchRequested
  batchResults: 'almanac.batch-results', // BatchDone
  computations: 'almanac.computations', // ComputationStarted, CircuitOpened, ComputationCompleted, ResultsExport*
} as const;

export function topicFor(type: string): string {
  switch (type) {
    case 'RunRequested':
    case 'RunPlanned':
    case 'RunRejected':
    case 'RunCompleted':
    case 'SchedulePaused':
    case 'ScheduleResumed':
    case 'BackfillRequested':
      return topics.runs;
    case 'PassReady':
      return topics.passes;
    case 'BatchRequested':
      return topics.batches;
    case 'BatchDone':
      return topics.batchResults;
    case 'ComputationStarted':
    case 'CircuitOpened':
    case 'ComputationCompleted':
    case 'ComputationDelegated':
    case 'ExecutionClaimed':
    case 'ComputationsInvalidated':
    case 'ResultVersionsExpired':
    case 'ResultsExported':
    case 'ResultsExportFailed':
      return topics.computations;
    default:
      throw new Error(`no topic for event type "${type}"`);
  }
}

export const GLOBAL_ENTITY = '_global';
