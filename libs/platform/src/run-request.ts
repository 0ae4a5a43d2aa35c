import { randomBytes } from 'node:crypto';
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
