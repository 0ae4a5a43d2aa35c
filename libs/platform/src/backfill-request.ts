import { randomBytes } from 'node:crypto';
import {
  backfillIds,
  makeEvent,
  MAX_BACKFILL_CONCURRENCY,
  MAX_BACKFILL_DATES,
  type Envelope,
} from '@almanac/contracts';
import { runRequestIssues, type RunRequestIssue } from '@almanac/domain/planner';
import { selectComputations } from '@almanac/kernel';
import type { LoadedProject } from './load-computations';
import type { ProjectConfig } from './project-config';
import { runRequestRules } from './run-request';

export interface BackfillRequest {
  from: string;
  to: string;
  targets?: string[];
  /** runs open at once (default DEFAULT_BACKFILL_CONCURRENCY) */
  concurrency?: number;
  force?: boolean;
  requestedBy?: string;
}

export const DEFAULT_BACKFILL_CONCURRENCY = 4;

export interface BackfillIssue {
  /** the api body's field (the CLI's --from, --to, --computation, --concurrency) */
  path: 'from' | 'to' | 'targets' | 'concurrency';
  message: string;
}

declare const checked: unique symbol;
/** A request validateBackfillRequest let through, with what it decided (the historical ones). */
export type ValidBackfillRequest = Required<Omit<BackfillRequest, 'requestedBy'>> & {
  requestedBy: string;
  historical: string[];
  readonly [checked]: true;
};

/** A backfill request that breaks the rules; nothing was appended. */
export class InvalidBackfillRequestError extends Error {
  /** unknown-computation when that is all that is wrong (the api answers 404), else invalid-request */
  readonly code: 'unknown-computation' | 'invalid-request';
  constructor(readonly issues: BackfillIssue[]) {
    super(`invalid backfill request: ${issues.map((i) => i.message).join('; ')}`);
    this.name = 'InvalidBackfillRequestError';
    this.code =
      issues.length > 0 && issues.every((i) => i.path === 'targets')
        ? 'unknown-computation'
        : 'invalid-request';
  }
}

const DAY_MS = 86_400_000;

/**
 * The check the CLI and the api make before appending a BackfillRequested: `from` and `to` by the
 * rules of a run's date (ADR 0013), so every date between them is one a run may be for; the
 * computations as a run's targets; at most MAX_BACKFILL_DATES dates, from not after to, a
 * concurrency from 1 to MAX_BACKFILL_CONCURRENCY. Throws InvalidBackfillRequestError naming each.
 */
export function validateBackfillRequest(
  request: BackfillRequest,
  project: LoadedProject,
  config: ProjectConfig,
  now: Date,
): ValidBackfillRequest {
  const rules = runRequestRules(project, config, now);
  const targets = request.targets ?? [];
  const issues: BackfillIssue[] = [];
  const asField = (field: 'from' | 'to', i: RunRequestIssue): BackfillIssue =>
    i.path === 'date'
      ? { path: field, message: `${field}: ${i.message}` }
      : { path: 'targets', message: i.message };
  const fromIssues = runRequestIssues({ date: request.from, targets }, rules);
  issues.push(...fromIssues.map((i) => asField('from', i)));
  const toIssues = runRequestIssues({ date: request.to }, rules);
  issues.push(...toIssues.map((i) => asField('to', i)));
  const datesOk = !fromIssues.some((i) => i.path === 'date') && toIssues.length === 0;
  if (datesOk) {
    const days = (Date.parse(request.to) - Date.parse(request.from)) / DAY_MS + 1;
    if (days < 1)
      issues.push({ path: 'to', message: `from "${request.from}" is after to "${request.to}"` });
    else if (days > MAX_BACKFILL_DATES)
      issues.push({
        path: 'to',
        message: `${request.from} to ${request.to} is ${days} dates; a backfill takes at most ${MAX_BACKFILL_DATES}: split it`,
      });
  }
  const concurrency = request.concurrency ?? DEFAULT_BACKFILL_CONCURRENCY;
  if (!Number.isInteger(concurrency) || concurrency < 1 || concurrency > MAX_BACKFILL_CONCURRENCY)
    issues.push({
      path: 'concurrency',
      message: `concurrency ${concurrency} must be an integer from 1 to ${MAX_BACKFILL_CONCURRENCY}`,
    });
  if (issues.length) throw new InvalidBackfillRequestError(issues);
  const manifest = project.manifest;
  const historical = selectComputations(manifest, targets)
    .filter((n) => manifest.entries.get(n)?.config.isHistorical)
    .sort();
  return {
    from: request.from,
    to: request.to,
    targets,
    concurrency,
    force: request.force ?? false,
    requestedBy: request.requestedBy ?? 'cli',
    historical,
  } as ValidBackfillRequest;
}

/** Sortable, unique backfill ids: `bf-<UTC time>-<hex>`. */
export function newBackfillId(now: Date): string {
  const t = now
    .toISOString()
    .replace(/[-:]/g, '')
    .replace(/\.\d+Z$/, 'Z');
  return `bf-${t}-${randomBytes(3).toString('hex')}`;
}

/** The BackfillRequested that starts a backfill (the CLI's and the api's, once validated). */
export function backfillRequestedEvent(
  backfillId: string,
  now: Date,
  request: ValidBackfillRequest,
  producer: string,
): Envelope<'BackfillRequested'> {
  return makeEvent({
    type: 'BackfillRequested',
    eventId: backfillIds.requested(backfillId),
    streamId: backfillIds.stream(backfillId),
    correlationId: backfillId,
    causationId: null,
    producer,
    occurredAt: now.toISOString(),
    metadata: { now: now.toISOString() },
    payload: {
      backfillId,
      from: request.from,
      to: request.to,
      targets: request.targets,
      concurrency: request.concurrency,
      force: request.force,
      historical: request.historical,
      requestedBy: request.requestedBy,
    },
  });
}
