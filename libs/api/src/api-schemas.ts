import { BadRequestException } from '@nestjs/common';
import { z } from 'zod';
import { IsoDate } from '@almanac/contracts';
import { dateFormatIssue } from '@almanac/platform';

/** Request bodies and query strings, validated with zod before anything is read or appended. */

const Names = z.array(z.string().min(1)).default([]);

/**
 * The date of a run request: the rule and message of run-request.rules.ts, as the CLI gives it.
 * Its range (almanac.config.ts `dates`, from today) is checked next, with the computations, the
 * entity ids and the force flags, by validateRunRequest before anything is appended.
 */
const RunDate = z
  .string()
  .meta({ format: 'date', description: 'YYYY-MM-DD, from dates.min to today + dates.maxDaysAhead' })
  .superRefine((date, ctx) => {
    const message = dateFormatIssue(date);
    if (message) ctx.addIssue({ code: 'custom', message });
  });

export const RunRequestBody = z
  .object({
    date: RunDate,
    targets: Names,
    entityIds: z.array(z.string().min(1)).optional(),
    /** re-run the targets even if nothing changed (every computation when there are none) */
    force: z.boolean().default(false),
    /** re-run the targets and every computation they depend on */
    forceUpstream: z.boolean().default(false),
    dryRun: z.boolean().default(false),
  })
  .strict();

export const AnalyzeBody = z
  .object({
    date: RunDate,
    targets: Names,
    force: z.boolean().default(false),
    forceUpstream: z.boolean().default(false),
  })
  .strict();

/** The seed's management call: POST / {action, computation?, date?, force?}. */
export const ManagementBody = z.discriminatedUnion('action', [
  z.object({ action: z.literal('status'), date: IsoDate.optional() }).strict(),
  z
    .object({
      action: z.literal('analyze'),
      date: RunDate,
      computation: z.string().min(1).optional(),
      force: z.boolean().default(false),
    })
    .strict(),
  z
    .object({
      action: z.literal('run'),
      date: RunDate,
      computation: z.string().min(1).optional(),
      force: z.boolean().default(false),
      dryRun: z.boolean().default(false),
      entityId: z.string().min(1).optional(),
    })
    .strict(),
]);

const RUN_STATUSES = [
  'requested',
  'planned',
  'running',
  'completed',
  'failed',
  'rejected',
] as const;

/** a list given as ?status=a,b or ?status=a&status=b */
const list = z
  .union([z.string(), z.array(z.string())])
  .transform((v) => (Array.isArray(v) ? v : [v]).flatMap((s) => s.split(',')).filter(Boolean));

export const RunsQuery = z
  .object({
    status: list.pipe(z.array(z.enum(RUN_STATUSES))).optional(),
    from: IsoDate.optional(),
    to: IsoDate.optional(),
    date: IsoDate.optional(),
    computation: z.string().min(1).optional(),
    limit: z.coerce.number().int().min(1).max(200).default(20),
    cursor: z.string().min(1).optional(),
  })
  .strict()
  .refine((q) => !q.from || !q.to || q.from <= q.to, {
    message: '"from" is after "to"',
    path: ['from'],
  });

const Timestamp = z
  .string()
  .refine(
    (s) => !Number.isNaN(Date.parse(s)),
    'not a timestamp (ISO 8601, e.g. 2026-01-15T10:00:00Z)',
  )
  .transform((s) => new Date(s).toISOString());

export const StatusQuery = z
  .object({ date: IsoDate.optional(), asOf: Timestamp.optional() })
  .strict();

export const DateParam = IsoDate;

/** An Idempotency-Key header: 1 to 255 printable ASCII characters (a UUID fits). */
export const IdempotencyKey = z
  .string()
  .regex(/^[\x20-\x7e]{1,255}$/, 'expected 1 to 255 printable ASCII characters (e.g. a UUID)');

/** Parses or answers 400 with the zod issues (nothing is read or appended on a bad request). */
export function parseOr400<S extends z.ZodType>(
  schema: S,
  value: unknown,
  what: string,
): z.output<S> {
  const parsed = schema.safeParse(value ?? {});
  if (!parsed.success) {
    throw new BadRequestException({
      statusCode: 400,
      message: `invalid ${what}: ${parsed.error.issues.map(issueText).join('; ')}`,
      issues: parsed.error.issues,
    });
  }
  return parsed.data;
}

/** `path: message`, or the message alone when it names its field already (RunDate's) */
function issueText(i: z.core.$ZodIssue): string {
  const path = i.path.join('.') || '(body)';
  return i.message.startsWith(`${path} `) ? i.message : `${path}: ${i.message}`;
}

/** JSON Schema of a request schema, for the OpenAPI document. */
export function jsonSchemaOf(schema: z.ZodType): Record<string, unknown> {
  return z.toJSONSchema(schema, { io: 'input', unrepresentable: 'any' }) as Record<string, unknown>;
}
