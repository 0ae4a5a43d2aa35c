import { z } from 'zod';
import { EnvelopeBase } from './envelope';
import * as P from './events';
import * as M from './maintenance-events';
import * as S from './schedule-events';
import * as X from './export-events';
import { BackfillRequestedPayload } from './backfill';

/** Every event type, its current schema version and its payload schema. */
export const EventCatalog = {
  RunRequested: { schemaVersion: 1, payload: P.RunRequestedPayload },
  RunPlanned: { schemaVersion: 1, payload: P.RunPlannedPayload },
  RunRejected: { schemaVersion: 1, payload: P.RunRejectedPayload },
  PassReady: { schemaVersion: 1, payload: P.PassReadyPayload },
  ComputationStarted: { schemaVersion: 1, payload: P.ComputationStartedPayload },
  BatchRequested: { schemaVersion: 1, payload: P.BatchRequestedPayload },
  BatchDone: { schemaVersion: 1, payload: P.BatchDonePayload },
  CircuitOpened: { schemaVersion: 1, payload: P.CircuitOpenedPayload },
  ComputationCompleted: { schemaVersion: 1, payload: P.ComputationCompletedPayload },
  RunCompleted: { schemaVersion: 1, payload: P.RunCompletedPayload },
  ComputationDelegated: { schemaVersion: 1, payload: P.ComputationDelegatedPayload },
  ExecutionClaimed: { schemaVersion: 1, payload: P.ExecutionClaimedPayload },
  ComputationsInvalidated: { schemaVersion: 1, payload: M.ComputationsInvalidatedPayload },
  ResultVersionsExpired: { schemaVersion: 1, payload: M.ResultVersionsExpiredPayload },
  SchedulePaused: { schemaVersion: 1, payload: S.SchedulePausedPayload },
  ScheduleResumed: { schemaVersion: 1, payload: S.ScheduleResumedPayload },
  BackfillRequested: { schemaVersion: 1, payload: BackfillRequestedPayload },
  ResultsExported: { schemaVersion: 1, payload: X.ResultsExportedPayload },
  ResultsExportFailed: { schemaVersion: 1, payload: X.ResultsExportFailedPayload },
} as const;

export type EventType = keyof typeof EventCatalog;
export const EVENT_TYPES = Object.keys(EventCatalog) as EventType[];

export type PayloadOf<T extends EventType> = z.output<(typeof EventCatalog)[T]['payload']>;
export type PayloadInput<T extends EventType> = z.input<(typeof EventCatalog)[T]['payload']>;

export type Envelope<T extends EventType = EventType> = {
  [K in T]: Omit<EnvelopeBase, 'type' | 'payload'> & { type: K; payload: PayloadOf<K> };
}[T];

/** A typed error for input that fails its schema; carries the zod issues. */
export class InvalidEventError extends Error {
  readonly code: string = 'invalid-event';
  constructor(
    message: string,
    readonly issues: z.core.$ZodIssue[],
  ) {
    super(message);
    this.name = 'InvalidEventError';
  }
}

/** JSON Schema of every event (envelope with its typed payload), for other languages and docs. */
export function exportJsonSchemas(): Record<EventType, unknown> {
  const out = {} as Record<EventType, unknown>;
  for (const type of EVENT_TYPES) {
    const entry = EventCatalog[type];
    const schema = EnvelopeBase.extend({
      type: z.literal(type),
      schemaVersion: z.literal(entry.schemaVersion),
      payload: entry.payload,
    });
    out[type] = z.toJSONSchema(schema, { io: 'input', unrepresentable: 'any' });
  }
  return out;
}

/**
 * The result version a ComputationCompleted names. Events recorded before results were versioned
 * have none: their rows were moved to the version named by their run id (the DuckDB result store
 * migrates them so on open).
 */
export function resultVersionOf(p: PayloadOf<'ComputationCompleted'>): string | null {
  if (p.resultVersion !== undefined) return p.resultVersion;
  return p.resultHash !== null && !p.dryRun ? p.runId : null;
}

/** The version a run's attempt writes its results to. */
export function resultVersionFor(runId: string, attempt: number): string {
  return `${runId}/${attempt}`;
}
