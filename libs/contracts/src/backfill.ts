import { z } from 'zod';
import { IsoDate } from './envelope';
import { ComputationName } from './events';

/** The most dates one backfill may request (ten years of days). */
export const MAX_BACKFILL_DATES = 3660;
/** The most runs of one backfill open at once. */
export const MAX_BACKFILL_CONCURRENCY = 64;

export const BackfillRequestedPayload = z
  .object({
    backfillId: z
      .string()
      .regex(/^bf-[A-Za-z0-9]+-[0-9a-f]+$/, 'expected an id as bf-<time>-<hex>'),
    from: IsoDate,
    to: IsoDate,
    /** computations asked for; empty means every computation */
    targets: z.array(ComputationName).default([]),
    /** runs of the backfill open at once */
    concurrency: z.number().int().positive().max(MAX_BACKFILL_CONCURRENCY),
    force: z.boolean().default(false),
    /**
     * the isHistorical computations its runs include (targets and their dependencies), decided when
     * it was requested: a date's run is requested only once the previous date's run completed them
     */
    historical: z.array(ComputationName).default([]),
    requestedBy: z.string().default('cli'),
  })
  .refine((p) => p.from <= p.to, { message: 'from must not be after to', path: ['to'] });

/** Stream, event and run ids of a backfill: each run's id is derived from (backfill, date). */
export const backfillIds = {
  stream: (backfillId: string) => `backfill-${backfillId}`,
  /** prefix of every backfill's stream */
  streams: 'backfill-',
  requested: (backfillId: string) => `BackfillRequested:${backfillId}`,
  /** the run of a date: its RunRequested's id is `RunRequested:<backfill>-<date>` */
  run: (backfillId: string, date: string) => `${backfillId}-${date}`,
  /** the backfill and date of a run id (null: not a backfill's run) */
  ofRun(runId: string): { backfillId: string; date: string } | null {
    const m = /^(bf-[A-Za-z0-9]+-[0-9a-f]+)-(\d{4}-\d{2}-\d{2})$/.exec(runId);
    return m ? { backfillId: m[1], date: m[2] } : null;
  },
};
