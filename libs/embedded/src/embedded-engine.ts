import 'reflect-metadata';
import { createFolderObjectStore, type ObjectStore } from '@almanac/storage';
import { mkdirSync } from 'node:fs';
import { hostname } from 'node:os';
import { dirname, join } from 'node:path';
import { Module, type DynamicModule, type INestApplicationContext } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import {
  backfillIds,
  type EventSchemas,
  eventSchemas,
  topics,
  type Envelope,
} from '@almanac/contracts';
import { backfillProjection, type BackfillView, type RunView } from '@almanac/domain/projections';
import {
  createSqliteCheckpointStore,
  createSqliteEventStore,
  type EventStore,
} from '@almanac/eventlog';
import type { CheckpointStore } from '@almanac/domain/projections';
import { CodeHashCache, type LogSink } from '@almanac/kernel';
import { createInProcessBus, type InProcessBus } from '@almanac/messaging';
import { createDuckDbResultStore, type ResultStore, type Warehouse } from '@almanac/warehouse';
import { readRunView } from '@almanac/api';
import {
  AlmanacMetrics,
  backfillRequestedEvent,
  type BackfillRequest,
  EventPublisher,
  initTracing,
  loadProject,
  openWarehouse,
  logEvents,
  type Logger,
  newBackfillId,
  newRunId,
  newServiceStats,
  ProfileModule,
  projectPaths,
  runRequestedEvent,
  type LoadedProject,
  type ProjectConfig,
  type ProjectPaths,
  instrumentEventStore,
  RetentionSweep,
  type RunRequest,
  type ServiceContext,
  validateBackfillRequest,
  validateRunRequest,
} from '@almanac/platform';
import { BackfillModule } from '@almanac/services/backfill';
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
  /** the structured log of the services' decisions and messages (`--log-format json`) */
  logger?: Logger;
  clock?: () => Date;
  owner?: string;
  /** the bus to use (default: a new in-process bus); fault tests pass one that misbehaves */
  bus?: InProcessBus;
  /** wraps the result store (fault tests make some writes fail) */
  wrapResults?: (store: ResultStore) => ResultStore;
  /** wraps the warehouse (tests count its reads) */
  wrapWarehouse?: (warehouse: Warehouse) => Warehouse;
  /**
   * where the executor stages per-entity inputs for the workers (ADR 0026). Absent: a folder in
   * the data folder with warehouse.kind "bigquery", none with DuckDB (a batch's read of the file
   * costs nothing); null: none at all
   */
  staging?: ObjectStore | null;
  /** how the log and messages are read (default: the contracts' own; tests pass the next version) */
  schemas?: EventSchemas;
  /**
   * host the backfill module (the scheduler's): backfills go on while this engine is open, and
   * those a dead process left resume at its start (`almanac backfill`, `almanac serve`)
   */
  backfills?: boolean;
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
  /** expires results older than each computation's ttlDays (`almanac retention`, ADR 0018) */
  readonly retention: RetentionSweep;

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
    readonly owner: string,
    private readonly app: INestApplicationContext,
    /** messages no handler could process (the reason of each) */
    readonly deadLetters: string[],
    private readonly checkpoints: CheckpointStore,
    /** called with every event this process appends (a backfill being waited for) */
    private readonly followers: Set<(e: Envelope) => void>,
    /** hosts the backfill module */
    private readonly backfills: boolean,
    /** this process's metrics: what `almanac serve` answers on /metrics */
    readonly metrics: AlmanacMetrics,
  ) {
    this.retention = new RetentionSweep({
      log: store,
      publisher,
      results,
      project,
      producer: 'cli',
    });
  }

  /**
   * Throws DatabaseLockedError (from @almanac/warehouse) when another process has the project's
   * DuckDB files open; they are opened first, so that is known before any code is loaded, and
   * closed again when anything later fails.
   */
  static async open(opts: EngineOptions): Promise<EmbeddedEngine> {
    const paths = projectPaths(opts.root, opts.config);
    mkdirSync(dirname(paths.eventLog), { recursive: true });
    const duckResults = await createDuckDbResultStore({ path: paths.results });
    let warehouse: Warehouse | undefined;
    try {
      // the DuckDB file, or BigQuery with warehouse.kind "bigquery" (ADR 0026)
      warehouse = await openWarehouse(opts.config, paths.warehouse, {
        GOOGLE_CLOUD_PROJECT: process.env.GOOGLE_CLOUD_PROJECT,
        ALMANAC_BIGQUERY_ENDPOINT: process.env.ALMANAC_BIGQUERY_ENDPOINT,
      });
      const read = opts.wrapWarehouse ? opts.wrapWarehouse(warehouse) : warehouse;
      return await EmbeddedEngine.start(opts, paths, read, duckResults);
    } catch (e) {
      await Promise.allSettled([duckResults.close(), warehouse?.close()]);
      throw e;
    }
  }

  private static async start(
    opts: EngineOptions,
    paths: ProjectPaths,
    warehouse: Warehouse,
    duckResults: ResultStore,
  ): Promise<EmbeddedEngine> {
    // one process for every service: its spans carry service.name "embedded" (ADR 0022)
    initTracing({ service: 'embedded' });
    const clock = opts.clock ?? (() => new Date());
    const project = await loadProject(
      opts.root,
      paths.computationsDir,
      opts.config,
      new CodeHashCache(),
    );
    const results = opts.wrapResults ? opts.wrapResults(duckResults) : duckResults;
    const schemas = opts.schemas ?? eventSchemas;
    const metrics = new AlmanacMetrics();
    const store = instrumentEventStore(
      createSqliteEventStore(paths.eventLog, { schemas }),
      metrics,
    );
    const bus = opts.bus ?? createInProcessBus();
    const onEvent = opts.onEvent;
    const followers = new Set<(e: Envelope) => void>();
    const publisher = new EventPublisher(store, bus, (events) => {
      for (const e of events) {
        onEvent?.(e);
        followers.forEach((f) => f(e));
      }
      if (opts.logger) logEvents(opts.logger, events);
    });
    const deadLetters: string[] = [];
    const checkpoints = createSqliteCheckpointStore(paths.checkpoints);
    const ctx: ServiceContext = {
      store,
      publisher,
      bus,
      project,
      config: opts.config,
      warehouse,
      results,
      schemas,
      owner: opts.owner ?? embeddedOwner(process.pid),
      clock,
      log: opts.log,
      logger: opts.logger,
      stats: newServiceStats(),
      checkpoints,
      onDeadLetter: (subscription, reason) => deadLetters.push(`${subscription}: ${reason}`),
      metrics,
      // reads billed by bytes (BigQuery) are staged once per attempt, here in the data folder
      // (null: not even then, to measure what staging saves)
      staging:
        opts.staging === undefined
          ? opts.config.warehouse.kind === 'bigquery'
            ? createFolderObjectStore(join(dirname(paths.eventLog), 'staging'))
            : undefined
          : (opts.staging ?? undefined),
    };
    // the same service modules as the deployed services, composed in one process
    const app = await NestFactory.createApplicationContext(embeddedModule(ctx, opts.backfills), {
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
      ctx.owner,
      app,
      deadLetters,
      checkpoints,
      followers,
      Boolean(opts.backfills),
      metrics,
    );
    await bus.subscribe(topics.runs, 'engine.runs', async (m) => engine.onRunMessage(m.data), {
      concurrency: 4,
    });
    await app.init();
    await engine.recoverDeadRuns();
    return engine;
  }

  /**
   * Runs left going by a process of this machine that no longer exists (a `kill -9` of `almanac
   * run`) are ended as abandoned: what they left undecided is failed with reason `abandoned`, and
   * since their result versions were never named, readers keep seeing the previous results.
   * Returns the runs abandoned.
   */
  async recoverDeadRuns(): Promise<string[]> {
    const abandoned: string[] = [];
    for (const run of await this.executor.activeRuns()) {
      const owners = runOwners(run);
      const dead = owners.filter((o) => processGone(o));
      if (owners.length === 0 || dead.length < owners.length) continue;
      await this.executor.abandon(run.runId, `process ${dead.join(', ')} died while running it`);
      abandoned.push(run.runId);
    }
    return abandoned;
  }

  private async onRunMessage(data: string): Promise<void> {
    const event = JSON.parse(data) as Envelope;
    if (event.type === 'RunCompleted' || event.type === 'RunRejected')
      this.waiting.get(event.correlationId)?.(event);
  }

  /**
   * Requests a run and waits for its RunCompleted (or RunRejected). A request that breaks the
   * rules every entry point checks throws InvalidRunRequestError, and nothing is appended.
   */
  async run(request: RunRequest): Promise<RunView> {
    const now = this.clock();
    const valid = validateRunRequest(request, this.project, this.config, now);
    const runId = newRunId(now);
    const done = new Promise<Envelope>((resolve) => this.waiting.set(runId, resolve));
    const requested = runRequestedEvent(runId, now, valid, request.requestedBy ?? 'cli');
    // the process that runs it, so that a later start can tell it died (recoverDeadRuns)
    requested.metadata = { ...requested.metadata, process: this.owner };
    await this.publisher.publish([requested]);
    try {
      await this.untilDone(`run ${runId}`, done);
    } finally {
      this.waiting.delete(runId);
    }
    return this.runView(runId);
  }

  /**
   * Requests a backfill (BackfillRequested) and, unless `wait` is false, waits for its end: the
   * backfill module requests its dates' runs. A request that breaks the rules throws
   * InvalidBackfillRequestError, and nothing is appended. Needs the engine opened with `backfills`.
   */
  async backfill(
    request: BackfillRequest,
    opts: { wait?: boolean; onProgress?: (view: BackfillView) => void } = {},
  ): Promise<BackfillView> {
    if (!this.backfills)
      throw new Error('this engine does not host backfills: open it with `backfills: true`');
    const now = this.clock();
    const valid = validateBackfillRequest(request, this.project, this.config, now);
    const backfillId = newBackfillId(now);
    let finished!: () => void;
    const done = new Promise<void>((resolve) => (finished = resolve));
    let view = backfillProjection.initial();
    const follow = (e: Envelope) => {
      if (!backfillProjection.handles.includes(e.type)) return;
      const before = view[backfillId];
      view = backfillProjection.evolve(view, e);
      const current = view[backfillId];
      if (!current || current === before) return;
      opts.onProgress?.(current);
      if (current.status !== 'running') finished();
    };
    this.followers.add(follow);
    try {
      const requested = backfillRequestedEvent(backfillId, now, valid, valid.requestedBy);
      await this.publisher.publish([requested]);
      if (opts.wait !== false) await this.untilDone(`backfill ${backfillId}`, done);
    } finally {
      this.followers.delete(follow);
    }
    return this.backfillView(backfillId);
  }

  /** A backfill's progress, folded from its events in the log. */
  async backfillView(backfillId: string): Promise<BackfillView> {
    const events = [
      ...(await this.store.readStream(backfillIds.stream(backfillId))),
      ...(await this.store.readStreamsByPrefix(`run-${backfillId}-`)),
    ];
    const view = events.reduce(backfillProjection.evolve, backfillProjection.initial());
    const found = view[backfillId];
    if (!found) throw new Error(`unknown backfill "${backfillId}"`);
    return found;
  }

  /**
   * Results of (computation, date) as readers see them: from the version the latest
   * ComputationCompleted names (absent keys: no result).
   */
  async readResults(
    computation: string,
    date: string,
    entityIds: string[],
  ): Promise<Map<string, unknown>> {
    const version = await this.executor.resultVersion(computation, date);
    if (!version) return new Map();
    return this.results.read(computation, date, version, entityIds);
  }

  /**
   * Every step of a run is a message: an idle bus without the run's end means a message was lost
   * (only the executor's sweep can move it on, once the work has been quiet for the zombie
   * threshold) or dead-lettered (nothing will).
   */
  private async untilDone(what: string, done: Promise<unknown>): Promise<void> {
    const { zombieThresholdMs, sweepIntervalMs } = this.config.execution;
    const stalled = () =>
      new RunStalledError(
        `${what} stopped before completing` +
          (this.deadLetters.length ? `; dead-lettered: ${this.deadLetters.join('; ')}` : ''),
      );
    const finished = done.then(() => 'done' as const);
    for (;;) {
      const first = await Promise.race([finished, this.bus.idle().then(() => 'idle' as const)]);
      if (first === 'done') return;
      if (this.deadLetters.length) throw stalled();
      const grace = zombieThresholdMs + 2 * sweepIntervalMs;
      let timer: NodeJS.Timeout | undefined;
      const waited = await Promise.race([
        finished,
        new Promise<'timeout'>((r) => (timer = setTimeout(() => r('timeout'), grace))),
      ]).finally(() => clearTimeout(timer));
      if (waited === 'done') return;
      const idleNow = await Promise.race([
        this.bus.idle().then(() => true),
        new Promise<boolean>((r) => setImmediate(() => r(false))),
      ]);
      if (idleNow) throw stalled();
    }
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
    await Promise.all([
      this.store.close(),
      this.warehouse.close(),
      this.results.close(),
      this.checkpoints.close(),
    ]);
  }
}

/**
 * Every service module of a run (planner, executor, worker) over one profile's adapters, and the
 * scheduler's backfills when asked.
 */
function embeddedModule(ctx: ServiceContext, backfills = false): DynamicModule {
  @Module({
    imports: [
      ProfileModule.forContext(ctx),
      PlannerModule.register(),
      ExecutorModule.register(),
      WorkerModule.register(),
      ...(backfills ? [BackfillModule.register()] : []),
    ],
  })
  class EmbeddedModule {}
  return { module: EmbeddedModule };
}

/** `embedded@<host>:<pid>`: which process of which machine runs an embedded run. */
export function embeddedOwner(pid: number): string {
  return `embedded@${hostname()}:${pid}`;
}

/** The embedded processes a run depends on: its requester and its computations' owners. */
function runOwners(run: RunView): string[] {
  const owners = new Set<string>();
  if (run.process) owners.add(run.process);
  for (const c of Object.values(run.computations))
    if (c.owner && (c.status === 'running' || c.status === 'pending' || c.status === 'waiting'))
      owners.add(c.owner);
  return [...owners];
}

/** An embedded owner of this machine whose process is gone (other owners are never judged). */
function processGone(owner: string): boolean {
  const m = /^embedded@(.+):(\d+)$/.exec(owner);
  // `embedded-<pid>`: the owner of runs recorded before owners named their machine
  const legacy = /^embedded-(\d+)$/.exec(owner);
  if (!legacy && (!m || m[1] !== hostname())) return false;
  const pid = Number(legacy ? legacy[1] : m![2]);
  if (pid === process.pid) return false;
  try {
    process.kill(pid, 0);
    return false;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'ESRCH';
  }
}
