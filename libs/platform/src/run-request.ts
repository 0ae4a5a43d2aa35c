import { createHash, randomBytes } from 'node:crypto';
import { eventIds, makeEvent, streams, type Envelope } from '@almanac/contracts';
import {
  describeRunRequestIssues,
  rejectionCode,
  runRequestIssues,
  type RunRequestIssue,
  type RunRequestRules,
} from '@almanac/domain/planner';
import type { LoadedProject } from './load-computations';
import type { ProjectConfig } from './project-config';

// the CLI's and the api's own checks of dates and names, with the messages of the rules
export { dateFormatIssue, unknownComputationsMessage } from '@almanac/domain/planner';

export interface RunRequest {
  date: string;
  targets?: string[];
  entityIds?: string[];
  /** re-run the targets even if nothing changed (every computation when there are no targets) */
  force?: boolean;
  /** re-run the targets and every computation they depend on */
  forceUpstream?: boolean;
  dryRun?: boolean;
  requestedBy?: string;
}

declare const checked: unique symbol;
/** A request validateRunRequest let through: the only kind runRequestedEvent takes. */
export type ValidRunRequest = RunRequest & { readonly [checked]: true };

/** A request that breaks the rules of run-request.rules.ts; nothing was appended. */
export class InvalidRunRequestError extends Error {
  /** unknown-computation when that is all that is wrong (the api answers 404), else invalid-request */
  readonly code: 'unknown-computation' | 'invalid-request';
  constructor(readonly issues: RunRequestIssue[]) {
    super(describeRunRequestIssues(issues));
    this.name = 'InvalidRunRequestError';
    this.code = rejectionCode(issues);
  }
}

/** The rules a request is checked against: the project's computations and `dates` settings. */
export function runRequestRules(
  project: LoadedProject,
  config: ProjectConfig,
  now: Date,
): RunRequestRules {
  return {
    computations: [...project.manifest.entries.keys()],
    dates: config.dates,
    today: now.toISOString().slice(0, 10),
  };
}

/**
 * The check every entry point (the CLI, the api) makes before appending a RunRequested: the same
 * rules, and so the same message, as the planner applies to what reaches it over the bus. Throws
 * InvalidRunRequestError naming every issue.
 */
export function validateRunRequest(
  request: RunRequest,
  project: LoadedProject,
  config: ProjectConfig,
  now: Date,
): ValidRunRequest {
  const issues = runRequestIssues(request, runRequestRules(project, config, now));
  if (issues.length) throw new InvalidRunRequestError(issues);
  return request as ValidRunRequest;
}

/** The RunRequested that starts a run (the CLI's and the api's requests, once validated). */
export function runRequestedEvent(
  runId: string,
  now: Date,
  request: ValidRunRequest,
  producer: string,
): Envelope {
  return makeEvent({
    type: 'RunRequested',
    eventId: eventIds.runRequested(runId),
    streamId: streams.run(runId),
    correlationId: runId,
    causationId: null,
    producer,
    occurredAt: now.toISOString(),
    payload: {
      runId,
      date: request.date,
      targets: request.targets ?? [],
      entityIds: request.entityIds && request.entityIds.length > 0 ? request.entityIds : undefined,
      force: request.force ?? false,
      forceUpstream: request.forceUpstream ?? false,
      dryRun: request.dryRun ?? false,
      requestedBy: request.requestedBy ?? 'cli',
    },
  });
}

/** Sortable, unique run ids: UTC time plus randomness. */
export function newRunId(now: Date): string {
  const t = now
    .toISOString()
    .replace(/[-:]/g, '')
    .replace(/\.\d+Z$/, 'Z');
  return `${t}-${randomBytes(3).toString('hex')}`;
}

/**
 * The run id of a request sent with an Idempotency-Key: the same for every retry of (principal,
 * key), so the log's unique event ids (RunRequested:<runId>) keep a retry from starting a second
 * run, whichever replica receives it and however long after.
 */
export function idempotentRunId(principal: string, key: string): string {
  const digest = createHash('sha256').update(`${principal}\n${key}`).digest('hex');
  return `key-${digest.slice(0, 24)}`;
}
