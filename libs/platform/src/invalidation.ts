import { eventIds, makeEvent, streams, type Envelope } from '@almanac/contracts';
import { dateFormatIssue, unknownComputationsMessage } from '@almanac/domain/planner';
import type { HashIndex } from '@almanac/domain/projections';
import { sha256 } from '@almanac/kernel';

/** An operator's request to re-run (computation, date) cells even if nothing changed (ADR 0018). */
export interface InvalidationRequest {
  computations: string[];
  from: string;
  to: string;
  reason: string;
  requestedBy?: string;
}

export interface InvalidationIssue {
  /** the field of the api's body (the CLI's --computation, --from, --to, --reason) */
  path: 'computations' | 'from' | 'to' | 'reason';
  code: 'unknown-computation' | 'invalid-date' | 'invalid-range' | 'missing';
  message: string;
}

const MAX_REASON_LENGTH = 1000;

/** Every way the request is wrong, in field order; empty when it may be appended. */
export function invalidationIssues(
  request: Partial<InvalidationRequest>,
  computations: readonly string[],
): InvalidationIssue[] {
  const issues: InvalidationIssue[] = [];
  const names = request.computations ?? [];
  if (names.length === 0)
    issues.push({
      path: 'computations',
      code: 'missing',
      message: 'name at least one computation to invalidate',
    });
  const known = new Set(computations);
  const unknown = [...new Set(names)].filter((n) => !known.has(n));
  if (unknown.length)
    issues.push({
      path: 'computations',
      code: 'unknown-computation',
      message: unknownComputationsMessage(unknown, computations),
    });
  for (const field of ['from', 'to'] as const) {
    const v = request[field];
    const problem =
      typeof v !== 'string' || v === ''
        ? `${field} is required (YYYY-MM-DD)`
        : dateFormatIssue(v, field);
    if (problem)
      issues.push({
        path: field,
        code: typeof v === 'string' && v !== '' ? 'invalid-date' : 'missing',
        message: problem,
      });
  }
  if (issues.every((i) => i.path !== 'from' && i.path !== 'to') && request.from! > request.to!)
    issues.push({
      path: 'to',
      code: 'invalid-range',
      message: `to ${request.to} is before from ${request.from}`,
    });
  const reason = typeof request.reason === 'string' ? request.reason.trim() : '';
  if (reason === '')
    issues.push({
      path: 'reason',
      code: 'missing',
      message: 'a reason is required: say why these results are not to be trusted',
    });
  else if (reason.length > MAX_REASON_LENGTH)
    issues.push({
      path: 'reason',
      code: 'invalid-range',
      message: `the reason is longer than ${MAX_REASON_LENGTH} characters`,
    });
  return issues;
}

/** A request that breaks the rules; nothing was appended. */
export class InvalidInvalidationError extends Error {
  /** unknown-computation when that is all that is wrong (the api answers 404), else invalid-request */
  readonly code: 'unknown-computation' | 'invalid-request';
  constructor(readonly issues: InvalidationIssue[]) {
    super(issues.map((i) => i.message).join('; '));
    this.name = 'InvalidInvalidationError';
    this.code = issues.every((i) => i.code === 'unknown-computation')
      ? 'unknown-computation'
      : 'invalid-request';
  }
}

/**
 * The invalidation's id: a digest of the request and of the results it taints (each cell's current
 * run). A retried request, to any replica, gets the same id and the log appends it once; the same
 * request after the results were re-computed is a new invalidation, of the new results.
 */
export function invalidationId(request: InvalidationRequest, index: HashIndex): string {
  const names = [...new Set(request.computations)].sort();
  const set = new Set(names);
  const tainted = Object.values(index)
    .filter((e) => set.has(e.computation) && e.date >= request.from && e.date <= request.to)
    .map((e) => `${e.computation}|${e.date}|${e.runId}`)
    .sort();
  const digest = sha256(
    JSON.stringify([
      request.requestedBy ?? 'cli',
      names,
      request.from,
      request.to,
      request.reason.trim(),
      tainted,
    ]),
  );
  return `inv-${digest.slice(0, 24)}`;
}

/**
 * Checks the request against the project's computations and builds its ComputationsInvalidated;
 * throws InvalidInvalidationError naming every issue, before anything is appended.
 */
export function invalidationEvent(
  request: InvalidationRequest,
  computations: readonly string[],
  index: HashIndex,
  now: Date,
  producer: string,
): Envelope<'ComputationsInvalidated'> {
  const issues = invalidationIssues(request, computations);
  if (issues.length) throw new InvalidInvalidationError(issues);
  const id = invalidationId(request, index);
  return makeEvent({
    type: 'ComputationsInvalidated',
    eventId: eventIds.computationsInvalidated(id),
    streamId: streams.invalidation(id),
    correlationId: id,
    causationId: null,
    producer,
    occurredAt: now.toISOString(),
    payload: {
      invalidationId: id,
      computations: [...new Set(request.computations)].sort(),
      from: request.from,
      to: request.to,
      reason: request.reason.trim(),
      requestedBy: request.requestedBy ?? 'cli',
    },
  });
}
