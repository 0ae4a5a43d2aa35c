import {
  invalidationEvent,
  InvalidInvalidationError,
  type InvalidationRequest,
  type RetentionReport,
  type RetentionSweep,
} from '@almanac/platform';
import { ApiRequestError, type ApiBackend } from './api-queries';

export interface InvalidationAnswer {
  invalidationId: string;
  /** true: the same request was recorded before (a retry); nothing was appended */
  replayed: boolean;
  /** the (computation, date) cells with a result that it taints (dates never run do not count) */
  tainted: number;
}

/**
 * Records an invalidation (ADR 0018): checked in full before anything is appended (known
 * computations, calendar dates in order, a reason), then appended and published once, however
 * often it is retried.
 */
export async function requestInvalidation(
  backend: ApiBackend,
  request: InvalidationRequest,
): Promise<InvalidationAnswer> {
  await backend.projections.catchUp();
  const index = backend.projections.views.hashIndex;
  let event;
  try {
    event = invalidationEvent(
      request,
      [...backend.project.manifest.entries.keys()],
      index,
      backend.clock(),
      backend.profile === 'gcp' ? 'api' : 'cli',
    );
  } catch (e) {
    if (e instanceof InvalidInvalidationError)
      throw new ApiRequestError(e.code === 'unknown-computation' ? 404 : 400, e.message, e.issues);
    throw e;
  }
  const appended = await backend.publisher.publish([event]);
  const p = event.payload;
  const names = new Set(p.computations);
  const tainted = Object.values(index).filter(
    (e) => names.has(e.computation) && e.date >= p.from && e.date <= p.to,
  ).length;
  return { invalidationId: p.invalidationId, replayed: appended.length === 0, tainted };
}

/**
 * A retention sweep (ADR 0018) through the api: the process holding the result store runs it.
 * `asOf`: decide as of that time instead of now (a dry run of next week's sweep).
 */
export async function runRetention(
  sweep: RetentionSweep | undefined,
  opts: { now: Date; dryRun: boolean },
): Promise<RetentionReport> {
  if (!sweep)
    throw new ApiRequestError(
      409,
      'this api holds no result store to sweep: run the retention where the results are (almanac retention, or the scheduler)',
    );
  return sweep.sweep(opts);
}
