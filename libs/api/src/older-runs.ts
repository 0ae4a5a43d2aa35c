import { compareRunKeys, type RunKey, type RunStatus } from '@almanac/domain/projections';
import type { StoredEvent } from '@almanac/eventlog';

/** What GET /runs filters on. */
export interface RunMatch {
  status?: string[];
  /** run dates from..to, inclusive */
  from?: string;
  to?: string;
  /** runs whose request or plan named this computation */
  computation?: string;
}

interface DroppedRunsQuery extends RunMatch {
  /** the live views' horizon: the runs looked for are finished and at or before it */
  horizon: RunKey;
  /** only runs strictly before this key (the page's cursor) */
  before: RunKey | null;
  /** runs to leave out: those the live views hold */
  skip: ReadonlySet<string>;
  /** at most this many, the newest */
  limit: number;
  /** events per read (default 5000) */
  pageSize?: number;
}

interface Candidate {
  key: RunKey;
  /** the request or the plan named q.computation (true when there is none) */
  named: boolean;
}

/**
 * The finished runs the live views dropped that a page of GET /runs shows: one pass over the log,
 * read page by page. It keeps the runs open at the point read (requested, not finished: as many
 * as ran at once) and the `limit` newest matches, so its memory is bounded by the page, not by
 * the log. Newest first.
 */
export async function readDroppedRuns(
  log: { readAll(opts: { after?: string; limit?: number }): Promise<StoredEvent[]> },
  q: DroppedRunsQuery,
): Promise<RunKey[]> {
  const pageSize = q.pageSize ?? 5000;
  const open = new Map<string, Candidate>();
  /** newest first, at most q.limit */
  const best: RunKey[] = [];
  const keep = (key: RunKey) => {
    if (best.length === q.limit && compareRunKeys(key, best[best.length - 1]) <= 0) return;
    const at = best.findIndex((k) => compareRunKeys(key, k) > 0);
    best.splice(at === -1 ? best.length : at, 0, key);
    if (best.length > q.limit) best.pop();
  };
  const finish = (runId: string, status: RunStatus) => {
    const c = open.get(runId);
    if (!c) return;
    open.delete(runId);
    if (c.named && (!q.status?.length || q.status.includes(status))) keep(c.key);
  };
  let after: string | undefined;
  for (;;) {
    const page = await log.readAll({ after, limit: pageSize });
    for (const e of page) {
      switch (e.type) {
        case 'RunRequested': {
          const p = e.payload;
          // requestedAt is the request's occurredAt, as in the run projection
          const key: RunKey = [e.occurredAt, p.runId];
          if (q.skip.has(p.runId) || compareRunKeys(key, q.horizon) > 0) break;
          if (q.before && compareRunKeys(key, q.before) >= 0) break;
          if ((q.from && p.date < q.from) || (q.to && p.date > q.to)) break;
          const named = !q.computation || p.targets.includes(q.computation);
          open.set(p.runId, { key, named });
          break;
        }
        case 'RunPlanned': {
          const c = open.get(e.payload.runId);
          if (c && q.computation && e.payload.computations.some((x) => x.name === q.computation))
            c.named = true;
          break;
        }
        case 'RunRejected':
          finish(e.payload.runId, 'rejected');
          break;
        case 'RunCompleted':
          finish(e.payload.runId, e.payload.status);
          break;
      }
    }
    if (page.length < pageSize) break;
    after = page[page.length - 1].position;
  }
  // runs still open here are still going: the live views hold them
  return best;
}
