import { z } from 'zod';

/** `YYYY-MM-DD`, a real calendar date. */
export const IsoDate = z
  .string()
  .regex(/^\d{4}-\d{2}-\d{2}$/, 'expected a date as YYYY-MM-DD')
  .refine((s) => {
    const d = new Date(`${s}T00:00:00Z`);
    return !Number.isNaN(d.getTime()) && d.toISOString().slice(0, 10) === s;
  }, 'not a calendar date');

export const Metadata = z
  .object({
    traceId: z.string().optional(),
    /** Wall-clock time of the producer when it decided; domain code reads time from here. */
    now: z.string().optional(),
  })
  .catchall(z.string());
export type Metadata = z.infer<typeof Metadata>;

/**
 * The envelope every event travels in, on the bus and in the log.
 * `eventId` is derived from what the event answers, so a redelivered message yields the same id.
 */
export const EnvelopeBase = z.object({
  eventId: z.string().min(1),
  type: z.string().min(1),
  schemaVersion: z.number().int().positive(),
  streamId: z.string().min(1),
  occurredAt: z.string().datetime({ offset: true }),
  correlationId: z.string().min(1),
  causationId: z.string().nullable(),
  producer: z.string().min(1),
  payload: z.unknown(),
  metadata: Metadata.default({}),
});
export type EnvelopeBase = z.infer<typeof EnvelopeBase>;
