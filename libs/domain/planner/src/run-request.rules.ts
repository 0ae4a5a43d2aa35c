import { GLOBAL_ENTITY } from '@almanac/contracts';
import { addDays, closestNames, didYouMean, isValidDate } from '@almanac/kernel';

/**
 * The rules a run request must meet, checked by every entry point before anything is appended
 * (the CLI and the api refuse the request) and by the planner for what reaches it over the bus
 * (it rejects the run). One function, so that the same input gets the same message everywhere.
 */

/** The dates a run may be for: from `min` to today (UTC) plus `maxDaysAhead` days, inclusive. */
export interface DateSettings {
  min: string;
  maxDaysAhead: number;
}

export interface RunRequestRules {
  /** every computation of the manifest */
  computations: readonly string[];
  dates: DateSettings;
  /** today, UTC (YYYY-MM-DD) */
  today: string;
}

export interface RunRequestFields {
  date: string;
  targets?: readonly string[];
  entityIds?: readonly string[];
  force?: boolean;
  forceUpstream?: boolean;
}

export type RunRequestIssueCode =
  | 'invalid-date'
  | 'date-out-of-range'
  | 'unknown-computation'
  | 'invalid-entity-id'
  | 'conflicting-force';

export interface RunRequestIssue {
  /** the field of the api's body (the CLI's --date, --computation, --entity, --force-upstream) */
  path: 'date' | 'targets' | 'entityIds' | 'forceUpstream';
  code: RunRequestIssueCode;
  message: string;
}

const MAX_ENTITY_ID_LENGTH = 256;

/** A date that is not a calendar date as YYYY-MM-DD, named as `field`; null when it is one. */
export function dateFormatIssue(date: string, field = 'date'): string | null {
  return isValidDate(date) ? null : `${field} "${date}" is not a calendar date as YYYY-MM-DD`;
}

/** The last date YYYY-MM-DD can write: the range ends there however large dates.maxDaysAhead is. */
const LAST_DATE = '9999-12-31';
const DAY_MS = 86_400_000;

export function dateRange(dates: DateSettings, today: string): { min: string; max: string } {
  const daysToLast =
    (Date.parse(`${LAST_DATE}T00:00:00Z`) - Date.parse(`${today}T00:00:00Z`)) / DAY_MS;
  const max = dates.maxDaysAhead >= daysToLast ? LAST_DATE : addDays(today, dates.maxDaysAhead);
  return { min: dates.min, max };
}

function dateIssue(date: string, rules: RunRequestRules): RunRequestIssue | null {
  const format = dateFormatIssue(date);
  if (format) return { path: 'date', code: 'invalid-date', message: format };
  const { min, max } = dateRange(rules.dates, rules.today);
  if (date >= min && date <= max) return null;
  return {
    path: 'date',
    code: 'date-out-of-range',
    message: `date "${date}" is outside the accepted range ${min} to ${max} (dates.min to today + dates.maxDaysAhead days, in almanac.config.ts)`,
  };
}

/** Unknown names with the closest known ones, then every known name. */
export function unknownComputationsMessage(
  unknown: readonly string[],
  known: readonly string[],
): string {
  const named = unknown.map((n) => `"${n}"${didYouMean(closestNames(n, known))}`).join(', ');
  const all = [...known].sort().join(', ');
  return `unknown computation${unknown.length > 1 ? 's' : ''} ${named}; known: ${all}`;
}

function entityIdProblem(id: string): string | null {
  if (id.length === 0) return 'is empty';
  if (id.length > MAX_ENTITY_ID_LENGTH) return `is longer than ${MAX_ENTITY_ID_LENGTH} characters`;
  if (id === GLOBAL_ENTITY) return 'is reserved for the results of global computations';
  if (id.trim() !== id) return 'starts or ends with white space';
  if ([...id].some((c) => c.charCodeAt(0) < 0x20 || c.charCodeAt(0) === 0x7f))
    return 'contains a control character';
  return null;
}

/** Every way the request breaks the rules, in field order; empty when it may be appended. */
export function runRequestIssues(
  request: RunRequestFields,
  rules: RunRequestRules,
): RunRequestIssue[] {
  const issues: RunRequestIssue[] = [];
  const date = dateIssue(request.date, rules);
  if (date) issues.push(date);
  const known = new Set(rules.computations);
  const unknown = [...new Set(request.targets ?? [])].filter((t) => !known.has(t));
  if (unknown.length)
    issues.push({
      path: 'targets',
      code: 'unknown-computation',
      message: unknownComputationsMessage(unknown, rules.computations),
    });
  for (const id of request.entityIds ?? []) {
    const problem = entityIdProblem(id);
    if (problem)
      issues.push({
        path: 'entityIds',
        code: 'invalid-entity-id',
        message: `entity id ${JSON.stringify(id.length > 40 ? `${id.slice(0, 40)}...` : id)} ${problem}`,
      });
  }
  if (request.force && request.forceUpstream)
    issues.push({
      path: 'forceUpstream',
      code: 'conflicting-force',
      message:
        'force and forceUpstream (--force and --force-upstream) cannot be combined: forceUpstream already re-runs the targets, and their dependencies too',
    });
  return issues;
}

/** How a run that breaks the rules is rejected: unknown-computation when that is all that is wrong. */
export function rejectionCode(
  issues: readonly RunRequestIssue[],
): 'unknown-computation' | 'invalid-request' {
  return issues.every((i) => i.code === 'unknown-computation')
    ? 'unknown-computation'
    : 'invalid-request';
}

/** The one message the CLI prints, the api answers and the planner's RunRejected carries. */
export function describeRunRequestIssues(issues: readonly RunRequestIssue[]): string {
  return `invalid run request: ${issues.map((i) => i.message).join('; ')}`;
}
