import { createHash, randomBytes } from 'node:crypto';
import { eventIds, makeEvent, streams, type Envelope } from '@almanac/contracts';

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

/** The RunRequested that starts a run (the CLI's, the api's and the scheduler's requests). */
export function runRequestedEvent(
  runId: string,
  now: Date,
  request: RunRequest,
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
