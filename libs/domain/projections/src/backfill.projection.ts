import { addDays } from '@almanac/kernel';
import { backfillIds, type Envelope } from '@almanac/contracts';
import type { Projection } from './projection';

/**
 * A date of a backfill: `pending` (not requested yet), `requested` (its run goes), `completed` (its
 * run ran at least one computation), `skipped` (every computation skipped: nothing changed) or
 * `failed` (its run failed, was rejected or abandoned).
 */
export type BackfillDateStatus = 'pending' | 'requested' | 'completed' | 'skipped' | 'failed';

export interface BackfillView {
  backfillId: string;
  from: string;
  to: string;
  targets: string[];
  concurrency: number;
  force: boolean;
  historical: string[];
  requestedBy: string;
  requestedAt: string;
  /** running until every date's run ended; then failed if one of them failed */
  status: 'running' | 'completed' | 'failed';
  finishedAt: string | null;
  total: number;
  /** dates whose run was requested (ended or not), and how those that ended ended */
  counts: { requested: number; completed: number; skipped: number; failed: number };
  /** date -> its status and run */
  dates: Record<string, { status: BackfillDateStatus; runId: string }>;
}

export type BackfillsView = Record<string, BackfillView>;

function countDays(from: string, to: string): number {
  let n = 0;
  for (let d = from; d <= to; d = addDays(d, 1)) n++;
  return n;
}

function settle(
  view: BackfillView,
  date: string,
  runId: string,
  status: BackfillDateStatus,
  at: string,
): BackfillView {
  // an end read before its request (another stream) counts the request too
  const entry = view.dates[date] ?? { status: 'pending', runId };
  if (entry.status !== 'requested' && entry.status !== 'pending') return view;
  const dates = { ...view.dates, [date]: { ...entry, status } };
  const counts = { ...view.counts };
  if (entry.status === 'pending') counts.requested++;
  if (status === 'completed' || status === 'skipped' || status === 'failed') counts[status]++;
  const ended = counts.completed + counts.skipped + counts.failed;
  const finished = ended === view.total;
  return {
    ...view,
    dates,
    counts,
    status: finished ? (counts.failed ? 'failed' : 'completed') : view.status,
    finishedAt: finished ? at : view.finishedAt,
  };
}

/** Every backfill's progress: dates requested, completed, skipped, failed. */
export const backfillProjection: Projection<BackfillsView> = {
  name: 'backfills',
  handles: ['BackfillRequested', 'RunRequested', 'RunCompleted', 'RunRejected'],
  initial: () => ({}),
  evolve(view, event: Envelope) {
    if (event.type === 'BackfillRequested') {
      const p = event.payload;
      if (view[p.backfillId]) return view;
      return {
        ...view,
        [p.backfillId]: {
          backfillId: p.backfillId,
          from: p.from,
          to: p.to,
          targets: p.targets,
          concurrency: p.concurrency,
          force: p.force,
          historical: p.historical,
          requestedBy: p.requestedBy,
          requestedAt: event.occurredAt,
          status: 'running',
          finishedAt: null,
          total: countDays(p.from, p.to),
          counts: { requested: 0, completed: 0, skipped: 0, failed: 0 },
          dates: {},
        },
      };
    }
    if (
      event.type !== 'RunRequested' &&
      event.type !== 'RunCompleted' &&
      event.type !== 'RunRejected'
    )
      return view;
    const run = backfillIds.ofRun(event.payload.runId);
    const backfill = run ? view[run.backfillId] : undefined;
    if (!run || !backfill) return view;
    if (event.type === 'RunRequested') {
      if (backfill.dates[run.date]) return view;
      return {
        ...view,
        [run.backfillId]: {
          ...backfill,
          dates: {
            ...backfill.dates,
            [run.date]: { status: 'requested', runId: event.payload.runId },
          },
          counts: { ...backfill.counts, requested: backfill.counts.requested + 1 },
        },
      };
    }
    let status: BackfillDateStatus = 'failed';
    if (event.type === 'RunCompleted' && event.payload.status === 'completed') {
      const counts = event.payload.counts;
      const decided = Object.values(counts).reduce((a, b) => a + b, 0);
      status = decided > 0 && counts.skipped === decided ? 'skipped' : 'completed';
    }
    return {
      ...view,
      [run.backfillId]: settle(backfill, run.date, event.payload.runId, status, event.occurredAt),
    };
  },
};
