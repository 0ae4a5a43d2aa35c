import {
  backfillProjection,
  CheckpointedProjections,
  decisionProjection,
  foldUntil,
  hashIndexProjection,
  recentRunsProjection,
  type CheckpointStore,
  type ProjectionSet,
  type RecordedLogReader,
} from '@almanac/domain/projections';
import type { Views } from './queries';
import type { ProjectionSource } from './api-queries';

/**
 * bump when a reducer of these views changes: checkpoints of the old version are rebuilt.
 * 3: the runs view keeps the runs still going and the last `recentRuns` finished ones (ADR 0014).
 * 4: the decisions view keeps the last MAX_DECISIONS_KEPT decisions per (computation, date).
 * 5: the backfills view (ADR 0017).
 */
export const API_VIEWS_VERSION = '6';

/** Finished runs the api keeps in memory by default: the largest page GET /runs answers. */
export const DEFAULT_RECENT_RUNS = 200;

/** The api's projections; `recentRuns` bounds the runs view (and is part of its fingerprint). */
export function apiProjectionSet(recentRuns = DEFAULT_RECENT_RUNS): ProjectionSet<Views> {
  return {
    runs: recentRunsProjection(recentRuns),
    decisions: decisionProjection,
    hashIndex: hashIndexProjection,
    backfills: backfillProjection,
  };
}

/** The api's views, checkpointed in `checkpoints` and caught up from the log on every query. */
export function apiProjections(
  log: RecordedLogReader,
  checkpoints: CheckpointStore,
  /** a catch-up saves at most this often (the api catches up on every request); flushed on close */
  minSaveIntervalMs = 5_000,
  opts: { recentRuns?: number } = {},
): ProjectionSource & { flush(): Promise<void> } {
  const projections = apiProjectionSet(opts.recentRuns);
  const live = new CheckpointedProjections<Views>(log, projections, checkpoints, {
    group: 'api',
    version: API_VIEWS_VERSION,
    minSaveIntervalMs,
  });
  return {
    catchUp: () => live.catchUp(),
    get views() {
      return live.views;
    },
    get position() {
      return live.position;
    },
    flush: () => live.flush(),
    rebuild: () => live.rebuild(),
    verify: () => live.verify(),
    asOf: (timestamp) => foldUntil<Views>(log, projections, timestamp),
  };
}
