import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';
import type { Envelope } from '@almanac/contracts';
import type { EventStore } from '@almanac/eventlog';

/** What /metrics answers with (Prometheus text format 0.0.4). */
export const METRICS_CONTENT_TYPE = 'text/plain; version=0.0.4; charset=utf-8';

let processRegistry: Registry | undefined;

/** prom-client's default metrics (CPU, memory, event loop, GC) describe the process: once per process. */
function processMetrics(): Registry {
  if (!processRegistry) {
    processRegistry = new Registry();
    collectDefaultMetrics({ register: processRegistry });
  }
  return processRegistry;
}

/** Circuit breaker state as a gauge value: 0 closed, 1 half-open, 2 open. */
export function breakerStateValue(breaker: { opened: boolean; halfOpen?: boolean }): 0 | 1 | 2 {
  if (breaker.halfOpen) return 1;
  return breaker.opened ? 2 : 0;
}

/**
 * Seconds between `since` (an ISO time: a message's publish time, an event's record time) and
 * `now`; 0 when absent, unreadable or in the future (clocks of two machines disagree).
 */
export function ageSeconds(since: string | undefined, now: Date): number {
  const at = since === undefined ? Number.NaN : Date.parse(since);
  if (Number.isNaN(at)) return 0;
  return Math.max(0, (now.getTime() - at) / 1000);
}

/** The slice of the log a projection's lag is read from (EventStore satisfies it). */
type LagLog = Pick<EventStore, 'readAll'>;

/**
 * Projection lag: the age of the oldest event the projection has not folded yet (0 when it has
 * folded the log's head). One bounded read: the first event after the projection's position.
 */
export async function projectionLagSeconds(
  log: LagLog,
  position: string | null | undefined,
  now: Date,
): Promise<number> {
  const [next] = await log.readAll({ after: position ?? undefined, limit: 1 });
  return next ? ageSeconds(next.recordedAt, now) : 0;
}

/** Outbox rows are counted up to this many at each scrape. */
export const OUTBOX_COUNT_LIMIT = 1000;

const SECONDS_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120];

/**
 * The process's metrics on one prom-client registry (README "Metrics"): given to every service
 * module through the ServiceContext, served at /metrics with prom-client's default process metrics.
 */
export class AlmanacMetrics {
  readonly registry = new Registry();
  private readonly registers = [this.registry];
  private readonly clock: () => Date;
  private readonly projections = new Map<string, { log: LagLog; position: () => string | null }>();

  readonly eventsAppended = new Counter({
    name: 'almanac_events_appended_total',
    help: 'Events this process appended to the log (duplicates of events already there are not counted), by type.',
    labelNames: ['type'],
    registers: this.registers,
  });
  readonly appendDuration = new Histogram({
    name: 'almanac_event_append_duration_seconds',
    help: 'Time of an append to the event log (one call, one transaction).',
    buckets: SECONDS_BUCKETS,
    registers: this.registers,
  });
  readonly batchesDispatched = new Counter({
    name: 'almanac_batches_dispatched_total',
    help: 'Batches requested from workers (BatchRequested appended by this executor), by computation.',
    labelNames: ['computation'],
    registers: this.registers,
  });
  readonly batchesDone = new Counter({
    name: 'almanac_batches_done_total',
    help: 'Batch answers without a batch error taken by this executor for a running attempt, by computation.',
    labelNames: ['computation'],
    registers: this.registers,
  });
  readonly batchesFailed = new Counter({
    name: 'almanac_batches_failed_total',
    help: 'Batch answers with a batch error (retried, or failing the computation) taken by this executor, by computation.',
    labelNames: ['computation'],
    registers: this.registers,
  });
  readonly batchDuration = new Histogram({
    name: 'almanac_batch_duration_seconds',
    help: "A batch's work on this worker (fetch, process, write), by computation.",
    labelNames: ['computation'],
    buckets: SECONDS_BUCKETS,
    registers: this.registers,
  });
  readonly entitiesProcessed = new Counter({
    name: 'almanac_entities_processed_total',
    help: 'Entities processed by this worker (succeeded or failed), by computation.',
    labelNames: ['computation'],
    registers: this.registers,
  });
  readonly entitiesFailed = new Counter({
    name: 'almanac_entities_failed_total',
    help: 'Entities whose process() failed on this worker, by computation.',
    labelNames: ['computation'],
    registers: this.registers,
  });
  readonly breakerState = new Gauge({
    name: 'almanac_breaker_state',
    help: "State of the circuit breaker of a computation's latest attempt on this executor: 0 closed, 1 half-open, 2 open.",
    labelNames: ['computation'],
    registers: this.registers,
  });
  readonly messagesInFlight = new Gauge({
    name: 'almanac_messages_in_flight',
    help: 'Messages being handled by this process, by subscription.',
    labelNames: ['subscription'],
    registers: this.registers,
  });
  readonly messageAge = new Histogram({
    name: 'almanac_message_age_seconds',
    help: 'Age of a message when this process received it (now minus its publish time), by subscription.',
    labelNames: ['subscription'],
    buckets: SECONDS_BUCKETS,
    registers: this.registers,
  });

  constructor(opts: { clock?: () => Date } = {}) {
    this.clock = opts.clock ?? (() => new Date());
    processMetrics();
    const { clock, projections } = this;
    new Gauge({
      name: 'almanac_projection_lag_seconds',
      help: 'Age of the oldest event a projection group of this process has not folded yet (0: up to date), read at scrape time.',
      labelNames: ['group'],
      registers: this.registers,
      async collect() {
        this.reset();
        const now = clock();
        for (const [group, p] of projections)
          this.set({ group }, await projectionLagSeconds(p.log, p.position(), now));
      },
    });
  }

  /** Scrape-time projection lag of a group of views kept by this process. */
  trackProjection(group: string, log: LagLog, position: () => string | null): void {
    this.projections.set(group, { log, position });
  }

  /** Scrape-time count of the outbox's pending rows: only the process that relays it serves it. */
  trackOutbox(countPending: () => Promise<number>): void {
    this.registry.removeSingleMetric('almanac_outbox_pending');
    new Gauge({
      name: 'almanac_outbox_pending',
      help: `Outbox rows committed with their event and not yet published (counted up to ${OUTBOX_COUNT_LIMIT}), read at scrape time.`,
      registers: this.registers,
      async collect() {
        this.set(await countPending());
      },
    });
  }

  /** What this process appended, as the log returned it: counts and what the events say. */
  observeAppended(events: Envelope[]): void {
    for (const e of events) {
      this.eventsAppended.inc({ type: e.type });
      if (e.type === 'BatchRequested') {
        this.batchesDispatched.inc({ computation: e.payload.computation });
      } else if (e.type === 'BatchDone') {
        const p = e.payload;
        const computation = { computation: p.computation };
        this.batchDuration.observe(computation, p.durationMs / 1000);
        this.entitiesProcessed.inc(computation, p.processed);
        this.entitiesFailed.inc(computation, p.failures.length);
      }
    }
  }

  /** This process's metrics, then the process's default metrics. */
  async render(): Promise<string> {
    return `${await this.registry.metrics()}\n${await processMetrics().metrics()}`;
  }
}

/**
 * The event store with every append timed and what it appended counted (duplicates are not):
 * the profiles wrap their adapter once, so every service counts the same way.
 */
export function instrumentEventStore(store: EventStore, metrics: AlmanacMetrics): EventStore {
  return {
    async append(streamId, events, opts) {
      const end = metrics.appendDuration.startTimer();
      const result = await store.append(streamId, events, opts);
      end();
      metrics.observeAppended(result.results.filter((r) => !r.duplicate).map((r) => r.event));
      return result;
    },
    readStream: (streamId, opts) => store.readStream(streamId, opts),
    readAll: (opts) => store.readAll(opts),
    readStreamsByPrefix: (prefix, opts) => store.readStreamsByPrefix(prefix, opts),
    streamVersion: (streamId) => store.streamVersion(streamId),
    close: () => store.close(),
  };
}
