import { randomBytes } from 'node:crypto';
import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import { eventIds, makeEvent, streams, topics, type Envelope } from '@almanac/contracts';
import { createSqliteEventStore, type EventStore } from '@almanac/eventlog';
import { CodeHashCache, type LogSink } from '@almanac/kernel';
import { createInProcessBus, deadLetterTopic, type InProcessBus } from '@almanac/messaging';
import type { RunView } from '@almanac/projections';
import {
  createDuckDbResultStore,
  createDuckDbWarehouse,
  type ResultStore,
  type Warehouse,
} from '@almanac/warehouse';
import { EventPublisher } from './event-publisher';
import { readRunView } from './queries';
import { ExecutorService } from './executor.service';
import { loadProject, type LoadedProject } from './load-computations';
import { PlannerService } from './planner.service';
import { projectPaths, type ProjectConfig, type ProjectPaths } from './project-config';
import { WorkerService } from './worker.service';

export interface RunRequest {
  date: string;
  targets?: string[];
  entityIds?: string[];
  force?: boolean;
  dryRun?: boolean;
  requestedBy?: string;
}

export interface EngineOptions {
  root: string;
  config: ProjectConfig;
  /** every event this process appends, as it is appended (progress, logs) */
  onEvent?: (event: Envelope) => void;
  /** lines computations write with this.log() */
  log?: LogSink;
  clock?: () => Date;
  owner?: string;
  /** the bus to use (default: a new in-process bus); fault tests pass one that misbehaves */
  bus?: InProcessBus;
  /** wraps the result store (fault tests make some writes fail) */
  wrapResults?: (store: ResultStore) => ResultStore;
}

export class RunStalledError extends Error {
  readonly code = 'run-stalled';
}

/**
 * The embedded profile: the planner, executor and worker services in one process, over the
 * SQLite event log, the in-process bus and DuckDB. They talk only through events, as they do
 * when deployed apart.
 */
export class EmbeddedEngine {
  private readonly waiting = new Map<string, (e: Envelope) => void>();
  /** messages no handler could process (the reason of each) */
  readonly deadLetters: string[] = [];

  private constructor(
    readonly paths: ProjectPaths,
    readonly config: ProjectConfig,
    readonly project: LoadedProject,
    readonly store: EventStore,
    readonly bus: InProcessBus,
    readonly warehouse: Warehouse,
    readonly results: ResultStore,
    readonly publisher: EventPublisher,
    readonly executor: ExecutorService,
    private readonly clock: () => Date,
  ) {}

  static async open(opts: EngineOptions): Promise<EmbeddedEngine> {
    const clock = opts.clock ?? (() => new Date());
    const paths = projectPaths(opts.root, opts.config);
    const project = await loadProject(
      opts.root,
      paths.computationsDir,
      opts.config,
      new CodeHashCache(),
    );
    mkdirSync(dirname(paths.eventLog), { recursive: true });
    const warehouse = await createDuckDbWarehouse({
      path: paths.warehouse,
      readOnly: true,
      schemaTtlMs: opts.config.warehouse.schemaTtlMs,
    });
    const duckResults = await createDuckDbResultStore({ path: paths.results });
    const results = opts.wrapResults ? opts.wrapResults(duckResults) : duckResults;
    const store = createSqliteEventStore(paths.eventLog);
    const bus = opts.bus ?? createInProcessBus();
    const onEvent = opts.onEvent;
    const publisher = new EventPublisher(
      store,
      bus,
      onEvent ? (events) => events.forEach(onEvent) : undefined,
    );
    const owner = opts.owner ?? `embedded-${process.pid}`;
    const planner = new PlannerService({
      store,
      publisher,
      project,
      epoch: opts.config.epoch,
      clock,
    });
    const executor = new ExecutorService({
      store,
      publisher,
      project,
      config: opts.config,
      warehouse,
      results,
      owner,
      clock,
    });
    const worker = new WorkerService({
      publisher,
      project,
      config: opts.config,
      warehouse,
      results,
      clock,
      log: opts.log,
    });
    const engine = new EmbeddedEngine(
      paths,
      opts.config,
      project,
      store,
      bus,
      warehouse,
      results,
      publisher,
      executor,
      clock,
    );

    const subscriptions: Array<[string, string, (data: string) => Promise<void>, number]> = [
      [topics.runs, 'planner.runs', (d) => planner.onMessage(d), 4],
      [topics.passes, 'executor.passes', (d) => executor.onPassMessage(d), 8],
      [topics.batchResults, 'executor.batch-results', (d) => executor.onBatchResultMessage(d), 32],
      [
        topics.batches,
        'worker.batches',
        (d) => worker.onMessage(d),
        opts.config.execution.workerConcurrency,
      ],
      [topics.runs, 'engine.runs', async (d) => engine.onRunMessage(d), 4],
    ];
    for (const [topic, name, handle, concurrency] of subscriptions) {
      await bus.subscribe(topic, name, (m) => handle(m.data), { concurrency });
      await bus.subscribe(deadLetterTopic(name), `${name}.dead-letter.log`, async (m) => {
        engine.deadLetters.push(`${name}: ${m.attributes.deadLetterReason ?? 'unknown reason'}`);
      });
    }
    return engine;
  }

  private async onRunMessage(data: string): Promise<void> {
    const event = JSON.parse(data) as Envelope;
    if (event.type === 'RunCompleted' || event.type === 'RunRejected')
      this.waiting.get(event.correlationId)?.(event);
  }

  /** Requests a run and waits for its RunCompleted (or RunRejected). */
  async run(request: RunRequest): Promise<RunView> {
    const runId = newRunId(this.clock());
    const done = new Promise<Envelope>((resolve) => this.waiting.set(runId, resolve));
    await this.publisher.publish([
      runRequestedEvent(runId, this.clock(), request, request.requestedBy ?? 'cli'),
    ]);
    // every step is a message; an idle bus with no RunCompleted means the run cannot finish
    const stalled = this.bus.idle().then(() => 'stalled' as const);
    const outcome = await Promise.race([done, stalled]);
    this.waiting.delete(runId);
    if (outcome === 'stalled') {
      const dead = this.deadLetters;
      throw new RunStalledError(
        `run ${runId} stopped before completing${dead.length ? `; dead-lettered: ${dead.join('; ')}` : ''}`,
      );
    }
    return this.runView(runId);
  }

  async runView(runId: string): Promise<RunView> {
    const view = await readRunView(this.store, runId);
    if (!view) throw new Error(`unknown run "${runId}"`);
    return view;
  }

  async close(): Promise<void> {
    await this.bus.close();
    await Promise.all([this.store.close(), this.warehouse.close(), this.results.close()]);
  }
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
