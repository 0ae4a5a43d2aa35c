import { z } from 'zod';
import { IsoDate } from './envelope';
import { ComputationName, RunId } from './events';

/**
 * The export of a completed result version to the BigQuery results table (ADR 0026, Results
 * export), appended to the run's stream by whoever exports it. Not a step of the run: a run is
 * completed before its results are exported, and a failed export does not fail it.
 */

/** The results table's rows of (computation, date) are now the rows of `version`. */
export const ResultsExportedPayload = z.object({
  runId: RunId,
  date: IsoDate,
  computation: ComputationName,
  version: z.string().min(1),
  /** rows of the version (the results table's rows of this computation and date) */
  rows: z.number().int().nonnegative(),
  /** project.dataset.table */
  table: z.string().min(1),
  durationMs: z.number().nonnegative(),
});

/** An attempt to export failed; the table is as it was. A retryable failure is tried again. */
export const ResultsExportFailedPayload = z.object({
  runId: RunId,
  date: IsoDate,
  computation: ComputationName,
  version: z.string().min(1),
  table: z.string().min(1),
  /** 1 for the first try */
  attempt: z.number().int().positive(),
  error: z.string(),
  retryable: z.boolean(),
});
