import type { Envelope } from '@almanac/contracts';
import type { Level } from 'pino';
import type { Logger, LogLabels } from './logger';

interface EventLine {
  level: Level;
  message: string;
  fields?: Record<string, unknown>;
}

/**
 * The line an operator reads for a decision a service recorded (every decision is an event), or
 * null for the events that are bookkeeping (claims, delegations' own streams, schedules).
 */
function describe(e: Envelope): EventLine | null {
  switch (e.type) {
    case 'RunRequested': {
      const p = e.payload;
      return {
        level: 'info',
        message: `run requested for ${p.date}${p.targets.length ? ` (${p.targets.join(', ')})` : ''}`,
        fields: {
          trigger: p.trigger,
          requestedBy: p.requestedBy,
          force: p.force,
          dryRun: p.dryRun,
        },
      };
    }
    case 'RunPlanned':
      return {
        level: 'info',
        message: `run planned: ${e.payload.computations.length} computations in ${e.payload.passes.length} passes`,
      };
    case 'RunRejected':
      return {
        level: 'warn',
        message: `run rejected (${e.payload.code}): ${e.payload.message}`,
      };
    case 'PassReady':
      return {
        level: 'info',
        message: `pass ${e.payload.pass} ready: ${e.payload.computations.join(', ')}`,
      };
    case 'ComputationStarted':
      return {
        level: 'info',
        message: `computation started (attempt ${e.payload.attempt}, ${e.payload.entityCount} entities in ${e.payload.batchCount} batches): ${e.payload.reason.code}`,
        fields: { owner: e.payload.owner },
      };
    case 'BatchRequested':
      return {
        level: 'info',
        message: `batch dispatched (${e.payload.entityIds.length} entities${e.payload.retry ? `, retry ${e.payload.retry}` : ''})`,
      };
    case 'BatchDone': {
      const p = e.payload;
      if (p.error)
        return {
          level: 'warn',
          message: `batch failed${p.permanent ? ' (permanent)' : ''}: ${p.error}`,
          fields: { durationMs: p.durationMs },
        };
      return {
        level: p.failures.length ? 'warn' : 'info',
        message: `batch done: ${p.processed} processed, ${p.saved} saved, ${p.failures.length} failed`,
        fields: { durationMs: p.durationMs },
      };
    }
    case 'CircuitOpened':
      return {
        level: 'error',
        message: `breaker opened after ${e.payload.failures} failures in ${e.payload.calls} calls: ${e.payload.message}`,
      };
    case 'ComputationCompleted': {
      const p = e.payload;
      const level: Level =
        p.status === 'failed'
          ? 'error'
          : p.status === 'completed' || p.status === 'skipped'
            ? 'info'
            : 'warn';
      return {
        level,
        message: `computation ${p.status}: ${reasonText(p.reason)}`,
        fields: { entities: p.entities, durationMs: p.durationMs },
      };
    }
    case 'RunCompleted':
      return {
        level: e.payload.status === 'completed' ? 'info' : 'warn',
        message: `run ${e.payload.status}`,
        fields: { counts: e.payload.counts, durationMs: e.payload.durationMs },
      };
    case 'ComputationDelegated':
      return { level: 'info', message: `computation delegated to run ${e.payload.to}` };
    case 'BackfillRequested':
      return { level: 'info', message: `backfill requested: ${e.payload.from}..${e.payload.to}` };
    case 'ComputationsInvalidated': {
      const p = e.payload;
      return {
        level: 'info',
        message: `invalidated ${p.computations.join(', ')} for ${p.from}..${p.to}: ${p.reason}`,
        fields: { requestedBy: p.requestedBy },
      };
    }
    case 'ResultVersionsExpired':
      return {
        level: 'info',
        message: `expired ${e.payload.versions.length} result versions of ${e.payload.date} (ttlDays ${e.payload.ttlDays})`,
      };
    case 'ResultsExported':
      return {
        level: 'info',
        message: `results version ${e.payload.version} exported to ${e.payload.table}`,
        fields: { rows: e.payload.rows, durationMs: e.payload.durationMs },
      };
    case 'ResultsExportFailed':
      return {
        level: e.payload.retryable ? 'warn' : 'error',
        message: `results export of version ${e.payload.version} to ${e.payload.table} failed (attempt ${e.payload.attempt}): ${e.payload.error}`,
      };
    case 'SchedulePaused':
    case 'ScheduleResumed':
      return {
        level: 'info',
        message: e.type === 'SchedulePaused' ? 'schedule paused' : 'schedule resumed',
      };
    case 'ExecutionClaimed':
      return null;
    default: {
      const never: never = e;
      return never;
    }
  }
}

function reasonText(r: Envelope<'ComputationCompleted'>['payload']['reason']): string {
  switch (r.code) {
    case 'unchanged':
      return `unchanged (${r.compositeHash.slice(0, 12)})`;
    case 'changed':
    case 'forced':
      return `${r.code}${r.changed.length ? ` (${r.changed.join(', ')})` : ''}`;
    case 'scoped':
      return `scoped to ${r.entities} entities`;
    case 'dependency-not-ready':
      return `dependency not ready (${r.dependencies.map((d) => `${d.name} ${d.status}`).join(', ')})`;
    case 'mandatory-table-empty':
      return `mandatory table ${r.table} has no rows in ${r.window.from}..${r.window.to}`;
    case 'delegated':
      return `delegated to run ${r.runId} (${r.status})`;
    case 'entity-failures':
      return `${r.failed} of ${r.total} entities failed`;
    case 'first-run':
      return r.code;
    default:
      return `${r.code}: ${r.message}`;
  }
}

/**
 * Logs the decisions among `events` (just appended by this process), labelled with the run, the
 * computation and the batch they are about, and the service that made them (the producer), in
 * the trace of each event (its `traceparent`: the span that appended it, ADR 0022).
 */
export function logEvents(logger: Logger, events: readonly Envelope[]): void {
  for (const e of events) {
    const line = describe(e);
    if (!line || !logger.isLevelEnabled(line.level)) continue;
    const p = e.payload as { runId?: unknown; computation?: unknown; batch?: unknown };
    const labels: LogLabels = {
      service: e.producer,
      run: typeof p.runId === 'string' ? p.runId : e.correlationId,
      computation: typeof p.computation === 'string' ? p.computation : undefined,
      batch: typeof p.batch === 'number' ? String(p.batch) : undefined,
    };
    const traceparent = e.metadata.traceparent;
    logger[line.level](
      {
        labels,
        event: e.type,
        eventId: e.eventId,
        ...(traceparent ? { traceparent } : {}),
        ...line.fields,
      },
      line.message,
    );
  }
}
