import {
  CheckpointedProjections,
  decisionProjection,
  foldUntil,
  hashIndexProjection,
  runProjection,
  type CheckpointStore,
  type RecordedLogReader,
} from '@almanac/domain/projections';
import type { Views } from './queries';
import type { ProjectionSource } from './api-queries';

/** bump when a reducer of these views changes: checkpoints of the old version are rebuilt */
export const API_VIEWS_VERSION = '2';

const API_PROJECTIONS = {
  runs: runProjection,
  decisions: decisionProjection,
  hashIndex: hashIndexProjection,
};

/** The api's views, checkpointed in `checkpoints` and caught up from the log on every query. */
export function apiProjections(
  log: RecordedLogReader,
  checkpoints: CheckpointStore,
  /** a catch-up saves at most this often (the api catches up on every request); flushed on close */
  minSaveIntervalMs = 5_000,
): ProjectionSource & { flush(): Promise<void> } {
  const live = new CheckpointedProjections<Views>(log, API_PROJECTIONS, checkpoints, {
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
    asOf: (timestamp) => foldUntil<Views>(log, API_PROJECTIONS, timestamp),
  };
}
