import { eventIds, type EventSchemas, makeEvent, streams, type Envelope } from '@almanac/contracts';
import type { EventStore } from '@almanac/eventlog';
import type { LogSink } from '@almanac/kernel';
import type { ObjectStore } from '@almanac/storage';
import { readStagedBatch, type ResultStore, type Warehouse } from '@almanac/warehouse';
import { processBatch, type WorkerComputation, type WorkerPorts } from '@almanac/domain/worker';
import { SpanStatusCode, type Span } from '@opentelemetry/api';
import { inSpan, type EventPublisher } from '@almanac/platform';
import type { LoadedProject } from '@almanac/platform';
import type { ProjectConfig } from '@almanac/platform';

export const WORKER = 'worker';

/** Worker shell: BatchRequested -> processBatch -> BatchDone (a whole-batch error is reported, not thrown). */
export class WorkerService {
  private readonly computations = new Map<string, WorkerComputation>();
  private readonly ports: WorkerPorts;

  constructor(
    private readonly deps: {
      publisher: EventPublisher;
      project: LoadedProject;
      config: ProjectConfig;
      warehouse: Warehouse;
      results: ResultStore;
      clock: () => Date;
      log?: LogSink;
      /** to skip requests of superseded attempts (absent: every request is worked) */
      store?: Pick<EventStore, 'readStream'>;
      /** how messages are read: older versions upcast (ADR 0011) */
      schemas: EventSchemas;
      /** this replica's owner name, recorded in each BatchDone (which replica did which batch) */
      owner?: string;
      /** where the executor staged each batch's rows (ADR 0026; absent: read the warehouse) */
      staging?: ObjectStore;
    },
  ) {
    const { manifest } = deps.project;
    for (const e of manifest.entries.values()) {
      this.computations.set(e.name, {
        name: e.name,
        type: e.config.type,
        requires: e.config.requires,
        dependencies: e.config.dependencies.map((d) => ({
          name: d,
          type: manifest.entries.get(d)!.config.type,
        })),
        isHistorical: e.config.isHistorical,
        create: () => new e.ctor(),
      });
    }
    const { warehouse, results, config } = deps;
    this.ports = {
      tableSettings: (table) => {
        const s = config.tables[table];
        if (!s)
          throw new Error(`table "${table}" is not configured under "tables" in almanac.config.ts`);
        return s;
      },
      fetchForEntities: (t, s, w, ids) => warehouse.fetchForEntities(t, s, w, ids),
      fetchWindow: (t, s, w) => warehouse.fetchWindow(t, s, w),
      readResults: (c, d, v, ids) => results.read(c, d, v, ids),
      writeResults: (c, d, v, r, rows) => results.write(c, d, v, r, rows),
    };
  }

  /** the ports of one batch: its tables read from what the executor staged, when it did */
  private portsFor(p: Envelope<'BatchRequested'>['payload']): WorkerPorts {
    const { staging, warehouse } = this.deps;
    if (!staging) return this.ports;
    const key = { runId: p.runId, computation: p.computation, attempt: p.attempt, batch: p.batch };
    return {
      ...this.ports,
      fetchForEntities: async (table, settings, window, ids) =>
        (await readStagedBatch(staging, key, { table, settings, window }, ids)) ??
        warehouse.fetchForEntities(table, settings, window, ids),
    };
  }

  async onMessage(data: string): Promise<void> {
    const event = this.deps.schemas.parse(JSON.parse(data));
    if (event.type !== 'BatchRequested') return;
    // a request of an attempt that was taken over, or of a decided computation, is answered by
    // nobody: doing its work would only delay the current attempt's batches behind it
    if (await this.superseded(event.payload)) return;
    await this.run(event);
  }

  private async superseded(p: { runId: string; computation: string; attempt: number }) {
    if (!this.deps.store) return false;
    const events = await this.deps.store.readStream(streams.computation(p.runId, p.computation));
    return events.some(
      (e) =>
        e.type === 'ComputationCompleted' ||
        (e.type === 'ComputationStarted' && e.payload.attempt > p.attempt),
    );
  }

  /** A batch, in its span (ADR 0022): the entities it processed and failed are its attributes. */
  run(request: Envelope<'BatchRequested'>): Promise<void> {
    const p = request.payload;
    return inSpan(
      `batch ${p.computation}#${p.batch}`,
      {
        'almanac.run_id': p.runId,
        'almanac.computation': p.computation,
        'almanac.batch': p.batch,
        'almanac.attempt': p.attempt,
        'almanac.entities': p.entityIds.length,
      },
      (span) => this.process(request, span),
    );
  }

  private async process(request: Envelope<'BatchRequested'>, span: Span): Promise<void> {
    const p = request.payload;
    const started = this.deps.clock().getTime();
    let body: {
      processed: number;
      saved: number;
      failures: Array<{ entityId: string; message: string }>;
      error?: string;
      permanent?: boolean;
    };
    const comp = this.computations.get(p.computation);
    if (!comp) {
      body = {
        processed: 0,
        saved: 0,
        failures: [],
        error: `this worker does not know computation "${p.computation}"`,
      };
    } else {
      try {
        const work = processBatch(
          comp,
          {
            runId: p.runId,
            date: p.date,
            entityIds: p.entityIds,
            dryRun: p.dryRun,
            // events recorded before results were versioned wrote under the run id
            resultVersion: p.resultVersion ?? p.runId,
            readVersions: p.readVersions,
          },
          this.portsFor(p),
          {
            concurrency: this.deps.config.execution.entityConcurrency,
            config: this.deps.config.settings,
            references: this.deps.config.references,
            rules: this.deps.config.rules,
            log: this.deps.log,
          },
        );
        body = await withWorkTimeout(work, this.deps.config.execution.breaker.timeoutMs);
      } catch (err) {
        body = {
          processed: 0,
          saved: 0,
          failures: [],
          error: err instanceof Error ? err.message : String(err),
          permanent: (err as { retryable?: boolean }).retryable === false || undefined,
        };
      }
    }
    span.setAttributes({
      'almanac.processed': body.processed,
      'almanac.failed_entities': body.failures.length,
    });
    if (body.error !== undefined)
      span.setStatus({ code: SpanStatusCode.ERROR, message: body.error });
    const now = this.deps.clock();
    await this.deps.publisher.publish([
      makeEvent({
        type: 'BatchDone',
        eventId: eventIds.batchDone(p.runId, p.computation, p.attempt, p.batch, p.retry),
        streamId: streams.batch(p.runId, p.computation, p.batch),
        correlationId: p.runId,
        causationId: request.eventId,
        producer: WORKER,
        occurredAt: now.toISOString(),
        payload: {
          runId: p.runId,
          date: p.date,
          computation: p.computation,
          attempt: p.attempt,
          batch: p.batch,
          retry: p.retry,
          ...body,
          durationMs: Math.max(0, now.getTime() - started),
          ...(this.deps.owner === undefined ? {} : { worker: this.deps.owner }),
        },
      }),
    ]);
  }
}

/** A batch's work took longer than the breaker's timeout: a failed try, retried by the executor. */
export class BatchTimeoutError extends Error {
  readonly code = 'batch-timeout';
}

/**
 * Bounds a batch's work (not its time in a queue: the clock starts when this worker starts it).
 * The work cannot be cancelled; if it finishes later it writes the same rows into the same
 * version, which the retry writes too.
 */
function withWorkTimeout<T>(work: Promise<T>, timeoutMs: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(
      () => reject(new BatchTimeoutError(`batch timed out after ${timeoutMs} ms of work`)),
      timeoutMs,
    );
  });
  return Promise.race([work, timeout]).finally(() => clearTimeout(timer));
}
