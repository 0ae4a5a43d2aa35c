import { z } from 'zod';
import { IsoDate } from './envelope';
import { ComputationName } from './events';

/**
 * Events an operator's maintenance appends, outside any run (ADR 0018): a taint of results
 * (invalidation) and the expiry of result versions past their computation's `ttlDays` (retention).
 */

/**
 * The results of these computations for the dates from..to (inclusive) are not to be trusted: the
 * next run of each (computation, date) re-runs it even if its composite hash is unchanged. A date
 * with no result yet is recorded and changes nothing.
 */
export const ComputationsInvalidatedPayload = z
  .object({
    invalidationId: z.string().min(1),
    computations: z.array(ComputationName).min(1),
    from: IsoDate,
    to: IsoDate,
    reason: z.string().trim().min(1),
    requestedBy: z.string().min(1),
  })
  .refine((p) => p.from <= p.to, { message: 'from is after to', path: ['to'] });

/**
 * Versions of (computation, date) removed because the date is older than the computation's
 * `ttlDays`. Appended before the rows are deleted; the deletion is repeated by every sweep while
 * rows of a recorded version remain (a crash between the two).
 */
export const ResultVersionsExpiredPayload = z.object({
  computation: ComputationName,
  date: IsoDate,
  /** sorted */
  versions: z.array(z.string().min(1)).min(1),
  /** the version readers saw (the latest completion's), when it is among `versions` */
  current: z.string().min(1).nullable(),
  ttlDays: z.number().int().nonnegative(),
  /** dates before this one were expired by this sweep */
  cutoff: IsoDate,
});
