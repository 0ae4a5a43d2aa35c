import { z } from 'zod';
import { ComputationName } from './events';

/**
 * An operator paused a computation's schedule (`almanac schedule pause`, POST
 * /schedules/:computation/pause): its slots are not requested until it is resumed, and the
 * slots that fall while it is paused are not caught up.
 */
export const SchedulePausedPayload = z.object({
  computation: ComputationName,
  /** who paused it (the api principal, or `cli`) */
  by: z.string().min(1),
  reason: z.string().max(500).optional(),
});

/** An operator resumed a paused schedule: slots due from now on are requested again. */
export const ScheduleResumedPayload = z.object({
  computation: ComputationName,
  by: z.string().min(1),
});
