import 'reflect-metadata';
import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import { Module, type DynamicModule, type INestApplicationContext } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { topics, type Envelope } from '@almanac/contracts';
import type { RunView } from '@almanac/domain/projections';
import { createSqliteEventStore, type EventStore } from '@almanac/eventlog';
import { CodeHashCache, type LogSink } from '@almanac/kernel';
import { createInProcessBus, type InProcessBus } from '@almanac/messaging';
import {
  createDuckDbResultStore,
  createDuckDbWarehouse,
  type ResultStore,
  type Warehouse,
} from '@almanac/warehouse';
import { readRunView } from '@almanac/api';
import {
  EventPublisher,
  loadProject,
  newRunId,
  newServiceStats,
  ProfileModule,
  projectPaths,
  runRequestedEvent,
  type LoadedProject,
  type ProjectConfig,
  type ProjectPaths,
  type RunRequest,
  type ServiceContext,
} from '@almanac/platform';
import { ExecutorModule, ExecutorService } from '@almanac/services/executor';
import { PlannerModule } from '@almanac/services/planner';
import { WorkerModule } from '@almanac/services/worker';

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
    private readonly app: INestApplicationContext,
    /** messages no handler could process (the reason of each) */
    readonly deadLetters: string[],
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
    const deadLetters: string[] = [];
    const ctx: ServiceContext = {
      store,
      publisher,
      bus,
      project,
      config: opts.config,
      warehouse,
      results,
      owner: opts.owner ?? `embedded-${process.pid}`,
      clock,
      log: opts.log,
      stats: newServiceStats(),
      onDeadLetter: (subscription, reason) => deadLetters.push(`${subscription}: ${reason}`),
    };
    // the same service modules as the deployed services, composed in one process
    const app = await NestFactory.createApplicationContext(embeddedModule(ctx), {
      logger: ['error', 'warn'],
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
      app.get(ExecutorService),
      clock,
      app,
      deadLetters,
    );
    await bus.subscribe(topics.runs, 'engine.runs', async (m) => engine.onRunMessage(m.data), {
      concurrency: 4,
    });
    await app.init();
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
    // subscriptions close first (in-flight handlers settle), then the adapters
    await this.app.close();
    await this.bus.close();
    await Promise.all([this.store.close(), this.warehouse.close(), this.results.close()]);
  }
}

/** Every service module of a run (planner, executor, worker) over one profile's adapters. */
function embeddedModule(ctx: ServiceContext): DynamicModule {
  @Module({
    imports: [
      ProfileModule.forContext(ctx),
      PlannerModule.register(),
      ExecutorModule.register(),
      WorkerModule.register(),
    ],
  })
  class EmbeddedModule {}
  return { module: EmbeddedModule };
}
