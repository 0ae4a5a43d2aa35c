import { z } from 'zod';
import { IsoDate } from '@almanac/contracts';
import { GRAPH_FORMATS } from '../graph/dag-graph';

/**
 * POST /analyze over a range: what runs of every date of [from, to] would do. Each date's range
 * (almanac.config.ts `dates`) is checked with the computations by validateRunRequest.
 */
export const AnalyzeRangeBody = z
  .object({
    from: IsoDate,
    to: IsoDate,
    targets: z.array(z.string().min(1)).default([]),
    force: z.boolean().default(false),
    forceUpstream: z.boolean().default(false),
  })
  .strict();

/** a body that asks for a range (it names from or to) rather than one date */
export const isRangeBody = (body: unknown): boolean =>
  typeof body === 'object' && body !== null && ('from' in body || 'to' in body);

/** GET /graph: json (the DAG and its marks) or a text format; marked with a preview of [from, to]. */
export const GraphQuery = z
  .object({
    format: z.enum(['json', ...GRAPH_FORMATS]).default('json'),
    from: IsoDate.optional(),
    to: IsoDate.optional(),
  })
  .strict()
  .refine((q) => (q.from === undefined) === (q.to === undefined), {
    message: 'give both "from" and "to", or neither',
    path: ['from'],
  });
