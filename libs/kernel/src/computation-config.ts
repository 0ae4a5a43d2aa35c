import { z } from 'zod';
import { closestNames, didYouMean } from './closest-names';
import { ManifestError } from './manifest-error';
import { resolveSchedule, ScheduleError, ScheduleInput, type Schedule } from './schedule';

const TableRequirement = z.strictObject({
  /** days before the date to include; 0 = the date only */
  lookback: z.number().int().min(0).default(0),
  /** an empty window makes the computation `impossible` */
  mandatory: z.boolean().default(false),
  /** overrides the table's date column from the project config */
  dateField: z.string().min(1).optional(),
});

/** The config a computation's static getConfig() returns (DESIGN §1 and appendix). */
export const ComputationConfigSchema = z.strictObject({
  name: z
    .string()
    .regex(/^[A-Za-z][A-Za-z0-9_]*$/, 'expected a name matching /^[A-Za-z][A-Za-z0-9_]*$/'),
  type: z.enum(['global', 'per-entity']),
  requires: z.record(z.string().min(1), TableRequirement).default({}),
  dependencies: z.array(z.string().min(1)).default([]),
  /** missing fields come from the project's `scheduler.schedule`, then daily 02:00 UTC */
  schedule: ScheduleInput.optional(),
  isHistorical: z.boolean().default(false),
  ttlDays: z.number().int().positive().default(365),
  /** fraction of entities that may fail while the computation still counts as completed */
  failureTolerance: z.number().min(0).max(1).default(0),
});

/** A parsed config; its schedule has every default filled in (resolveSchedule). */
export type ComputationConfig = Omit<z.output<typeof ComputationConfigSchema>, 'schedule'> & {
  schedule: Schedule;
};
export type ComputationConfigInput = z.input<typeof ComputationConfigSchema>;

const KNOWN_FIELDS: Record<string, string[]> = {
  '': Object.keys(ComputationConfigSchema.shape),
  schedule: Object.keys(ScheduleInput.shape),
  requires: Object.keys(TableRequirement.shape),
};

function pathText(path: PropertyKey[]): string {
  return path.map(String).join('.');
}

function formatIssue(issue: z.core.$ZodIssue): string[] {
  if (issue.code === 'unrecognized_keys') {
    // Field names the user misspelt: name each one with the closest valid field.
    const parentKey =
      issue.path.length === 0
        ? ''
        : issue.path[0] === 'requires'
          ? 'requires'
          : String(issue.path[0]);
    const known = KNOWN_FIELDS[parentKey] ?? [];
    return issue.keys.map(
      (k) => `${pathText([...issue.path, k])}: unknown field${didYouMean(closestNames(k, known))}`,
    );
  }
  let message = issue.message.replace(/^Invalid (input|option): /, '');
  if (issue.code === 'invalid_type' && message.endsWith(', received undefined')) {
    message = `required, ${message.slice(0, -', received undefined'.length)}`;
  }
  return [`${pathText(issue.path) || '(root)'}: ${message}`];
}

/**
 * Validates a computation's config and fills defaults. Throws ManifestError 'invalid-config'
 * naming the computation (or `where` when it has no valid name) and every bad field.
 */
export function parseComputationConfig(
  raw: unknown,
  where: string,
  scheduleDefaults: ScheduleInput = {},
): ComputationConfig {
  const result = ComputationConfigSchema.safeParse(raw);
  const rawName = (raw as { name?: unknown } | null)?.name;
  const subject =
    typeof raw === 'object' && raw !== null && typeof rawName === 'string' && rawName.length > 0
      ? `computation "${rawName}"`
      : where;
  let problems: string[];
  if (result.success) {
    try {
      return { ...result.data, schedule: resolveSchedule(result.data.schedule, scheduleDefaults) };
    } catch (e) {
      if (!(e instanceof ScheduleError)) throw e;
      problems = [`schedule.${e.field}: ${e.message}`];
    }
  } else {
    problems = result.error.issues.flatMap(formatIssue);
  }
  throw new ManifestError('invalid-config', `${subject}: invalid config: ${problems.join('; ')}`, {
    computation: typeof rawName === 'string' ? rawName : null,
    where,
    issues: problems,
  });
}
