import {
  eventIds,
  type EventSchemas,
  GLOBAL_ENTITY,
  makeEvent,
  PREVIOUS_RESULT,
  resultVersionFor,
  streams,
  type Envelope,
  type ReadVersions,
  type Status,
} from '@almanac/contracts';
import {
  allBatchesSettled,
  blockedBy,
  evaluateComputation,
  EXECUTOR,
  executorDecider,
  findStalled,
  isDecided,
  planBatches,
  type Evaluation,
  type ExecutorCommand,
  type PlannedBatch,
} from '@almanac/domain/executor';
import {
  activeRunsProjection,
  CheckpointedProjections,
  hashIndexProjection,
  hashKey,
  ProjectionRunner,
  type CheckpointStore,
  type ComputationRunView,
  type HashIndex,
  type RunView,
  type RunsView,
} from '@almanac/domain/projections';
import { WrongExpectedVersionError, type EventStore } from '@almanac/eventlog';
import { combineResultHashes, previousDate, scopeDigest } from '@almanac/kernel';
import type { ObjectStore } from '@almanac/storage';
import {
  deleteStaged,
  stageTable,
  type BigQueryResultsExporter,
  type InputFingerprint,
  type ResultStore,
  type TableRead,
  type Warehouse,
  type WindowRead,
} from '@almanac/warehouse';
import {
  type AlmanacMetrics,
  breakerStateValue,
  ENTITY_SET_INPUT,
  entitySetInput,
  inSpan,
  readRequiredInputs,
  tableReads,
  type EventPublisher,
  type LoadedProject,
  type ProjectConfig,
} from '@almanac/platform';
import { breakerOpensOn } from './breaker';
import { exportCompletedResults } from './results-export.handler';

type Views = { runs: RunsView; hashIndex: HashIndex };

/** bump when activeRunsProjection or hashIndexProjection change: old checkpoints are refolded */
export const EXECUTOR_VIEWS_VERSION = '1';
const CLAIM_ATTEMPTS = 5;
const DAY_MS = 24 * 60 * 60 * 1000;

/** The plan of a computation's batches no longer matches the attempt that was started with it. */
export class PlanChangedError extends Error {
  readonly code = 'plan-changed';
  readonly permanent = true;
}

/**
 * Executor shell. It keeps no state of its own that another replica would need: every decision is
 * taken from the log (the active runs and the hash index, folded and checkpointed), so any replica
 * can handle any message of any run.
 * - PassReady: decide each computation of the pass (blocked / impossible / skipped / delegated /
 *   run); a run claims the (computation, date) and requests the first batch of each lane.
 * - BatchDone: request what the answer makes due (a retry, the next batch of its lane), open the
 *   circuit when the breaker says so, and once every batch is settled finalise the results (hash
 *   of the attempt's version) and complete the computation, then move the run on.
 * - ComputationCompleted: wake the runs that wait for that (computation, date).
 * - sweep(): work no one moves on (a dead owner, a lost message) is picked up again.
 */
export class ExecutorService {
  private readonly live: ProjectionRunner<Views> | CheckpointedProjections<Views>;
  private readonly active = new Set<string>();
  private readonly collecting = new Set<Promise<void>>();
  /** per run: fingerprints and entity lists are read once and shared by its computations */
  private readonly runCache = new Map<string, Map<string, Promise<unknown>>>();

  constructor(
    private readonly deps: {
      store: EventStore;
      publisher: EventPublisher;
      project: LoadedProject;
      config: ProjectConfig;
      warehouse: Warehouse;
      results: ResultStore;
      owner: string;
      clock: () => Date;
      /** where the executor's views are checkpointed (absent: folded from the log at start) */
      checkpoints?: CheckpointStore;
      /** how messages are read: older versions upcast (ADR 0011) */
      schemas: EventSchemas;
      /** batch answers, breaker states and the views' lag (absent: not measured) */
      metrics?: AlmanacMetrics;
      /**
       * where per-entity inputs are staged, once per attempt, for the workers to read by batch
       * (ADR 0026; absent: every batch reads the warehouse)
       */
      staging?: ObjectStore;
      /** exports each completed result version to BigQuery (gcp with `export`; ADR 0026) */
      resultsExporter?: BigQueryResultsExporter;
    },
  ) {
    const projections = { runs: activeRunsProjection, hashIndex: hashIndexProjection };
    this.live = deps.checkpoints
      ? new CheckpointedProjections<Views>(deps.store, projections, deps.checkpoints, {
          group: 'executor',
          version: EXECUTOR_VIEWS_VERSION,
          minSaveIntervalMs: 30_000,
          schemas: deps.schemas,
        })
      : new ProjectionRunner<Views>(deps.store, projections);
    deps.metrics?.trackProjection('executor', deps.store, () => this.live.position);
  }

  /** the runs still going and the hash index, as of the last catch-up */
  get views(): Views {
    return this.live.views;
  }

  async onPassMessage(data: string): Promise<void> {
    const event = this.deps.schemas.parse(JSON.parse(data));
    if (event.type === 'PassReady') await this.onPassReady(event);
  }

  async onBatchResultMessage(data: string): Promise<void> {
    const event = this.deps.schemas.parse(JSON.parse(data));
    if (event.type === 'BatchDone') await this.onBatchDone(event);
  }

  async onComputationMessage(data: string): Promise<void> {
    const event = this.deps.schemas.parse(JSON.parse(data));
    if (event.type !== 'ComputationCompleted') return;
    await this.wakeWaiting(event.payload);
    // after waking the waiters: a failed export nacks the message, which wakes them again
    const exporter = this.deps.resultsExporter;
    if (exporter)
      await exportCompletedResults(
        {
          ...this.deps,
          exporter,
          producer: EXECUTOR,
          currentVersion: (c, d) => this.resultVersion(c, d),
        },
        event,
      );
  }

  /** A pass, in its span (ADR 0022): each computation's decision is a child span. */
  onPassReady(event: Envelope<'PassReady'>): Promise<void> {
    const { runId, pass, computations } = event.payload;
    return inSpan(
      `pass ${pass}`,
      { 'almanac.run_id': runId, 'almanac.pass': pass, 'almanac.computations': computations },
      () => this.startPass(event),
    );
  }

  private async startPass(event: Envelope<'PassReady'>): Promise<void> {
    const { runId, computations } = event.payload;
    await this.live.catchUp();
    if (!this.views.runs[runId]) return; // over (or unknown)
    await Promise.all(
      computations.map((name) => this.handleComputation(runId, name, event.eventId)),
    );
    await this.advance(runId, event.eventId);
  }

  async onBatchDone(event: Envelope<'BatchDone'>): Promise<void> {
    const p = event.payload;
    await this.live.catchUp();
    const run = this.views.runs[p.runId];
    const c = run?.computations[p.computation];
    // a superseded attempt or a decided computation: fenced off
    if (!run || !c || c.status !== 'running' || c.attempt !== p.attempt) return;
    (p.error === undefined
      ? this.deps.metrics?.batchesDone
      : this.deps.metrics?.batchesFailed
    )?.inc({ computation: p.computation });
    const { breaker } = this.deps.config.execution;
    if (p.error !== undefined && !p.permanent && !c.circuitOpen) {
      const opens = await breakerOpensOn(c, breaker);
      if (opens)
        await this.decide({
          type: 'OpenCircuit',
          runId: run.runId,
          computation: c.name,
          attempt: c.attempt,
          calls: c.calls,
          failures: c.callFailures,
          message: `circuit opened after ${c.callFailures} failed of ${c.calls} batch calls (threshold ${breaker.errorThresholdPercentage} % after ${breaker.volumeThreshold} calls)`,
          now: this.now(),
        });
    }
    this.recordBreaker(run.runId, c.name);
    await this.progress(run.runId, c.name, event.eventId);
  }

  /** the breaker of the computation's current attempt, as the log says: closed, or open */
  private recordBreaker(runId: string, name: string): void {
    const c = this.views.runs[runId]?.computations[name];
    if (c)
      this.deps.metrics?.breakerState.set(
        { computation: name },
        breakerStateValue({ opened: c.circuitOpen }),
      );
  }

  /**
   * Moves a running computation on from what the log says: requests what is due, completes it
   * once every batch is settled (or the circuit opened). Idempotent: deterministic event ids make
   * a second replica doing the same thing append nothing.
   */
  private async progress(runId: string, name: string, causationId: string): Promise<boolean> {
    const { retries } = this.deps.config.execution.breaker;
    let run = this.views.runs[runId];
    let c = run?.computations[name];
    if (!run || !c || c.status !== 'running') return false;
    if (!c.circuitOpen && !allBatchesSettled(c, retries)) {
      const plan = await this.planOf(run, c);
      if (plan instanceof Error) {
        await this.complete(run, c, plan.message);
        await this.advance(runId, causationId);
        return true;
      }
      await this.stageInputs(run, c.name, c.type, c.attempt, plan);
      const requested = await this.decide({
        type: 'Dispatch',
        runId,
        computation: name,
        attempt: c.attempt,
        batches: plan,
        retries,
        now: this.now(),
      });
      run = this.views.runs[runId];
      c = run?.computations[name];
      if (!run || !c || c.status !== 'running') return requested.length > 0;
      if (!c.circuitOpen && !allBatchesSettled(c, retries)) return requested.length > 0;
    }
    await this.complete(run, c);
    await this.advance(runId, causationId);
    return true;
  }

  /**
   * Picks up work nobody moves on: computations with no progress for the zombie threshold get a
   * new attempt (late answers to the old one are fenced off), a pass made ready but never started
   * is started, a finished pass that was not moved on is moved on, a computation waiting for a
   * run that is done with it is decided again.
   */
  async sweep(): Promise<void> {
    await this.live.catchUp();
    const now = this.now();
    const threshold = this.deps.config.execution.zombieThresholdMs;
    await Promise.all(
      Object.values(this.views.runs).map(async (run) => {
        const stalled = findStalled(run, now, threshold);
        const causation = eventIds.passReady(run.runId, run.currentPass ?? 0);
        await Promise.all([
          // first move it on from the log (a lost answer); if nothing is due, a new attempt
          ...stalled.takeOver.map(async (name) => {
            if (!(await this.progress(run.runId, name, causation)))
              await this.handleComputation(run.runId, name, causation, true);
          }),
          ...stalled.start.map((name) => this.handleComputation(run.runId, name, causation)),
          ...stalled.waiting.map((name) => this.handleComputation(run.runId, name, causation)),
        ]);
        if (stalled.advance || stalled.takeOver.length || stalled.start.length)
          await this.advance(run.runId, causation);
      }),
    );
  }

  /** the runs this process can see that are still going */
  async activeRuns(): Promise<RunView[]> {
    await this.live.catchUp();
    return Object.values(this.views.runs);
  }

  /** The version of (computation, date) readers see: the one the latest completion names. */
  async resultVersion(computation: string, date: string): Promise<string | null> {
    await this.live.catchUp();
    return this.views.hashIndex[hashKey(computation, date)]?.resultVersion ?? null;
  }

  /** The run's process died (embedded profile): what it left undecided is ended, never resumed. */
  async abandon(runId: string, message: string): Promise<void> {
    await this.decide({ type: 'Abandon', runId, message, now: this.now() });
    this.runCache.delete(runId);
  }

  /** Waits for result collection under way and saves the executor's views (on shutdown). */
  async flush(): Promise<void> {
    await Promise.all([...this.collecting]);
    if (this.live instanceof CheckpointedProjections) await this.live.flush();
  }

  private now(): string {
    return this.deps.clock().toISOString();
  }

  private async decide(command: ExecutorCommand): Promise<Envelope[]> {
    await this.live.catchUp();
    const events = executorDecider.decide(command, this.views.runs);
    const fresh = await this.deps.publisher.publish(events);
    await this.live.catchUp();
    return fresh;
  }

  private async advance(runId: string, causationId: string): Promise<void> {
    if (!this.views.runs[runId]) return;
    const events = await this.decide({ type: 'Advance', runId, causationId, now: this.now() });
    if (events.some((e) => e.type === 'RunCompleted')) this.runCache.delete(runId);
  }

  private cached<T>(runId: string, key: string, load: () => Promise<T>): Promise<T> {
    let cache = this.runCache.get(runId);
    if (!cache) this.runCache.set(runId, (cache = new Map()));
    let p = cache.get(key) as Promise<T> | undefined;
    if (!p) {
      p = load();
      cache.set(key, p);
      p.catch(() => cache!.delete(key));
    }
    return p;
  }

  /** A computation's decision (and its first batches), in its span (ADR 0022). */
  private handleComputation(
    runId: string,
    name: string,
    causationId: string,
    takeover = false,
  ): Promise<void> {
    return inSpan(
      `computation ${name}`,
      { 'almanac.run_id': runId, 'almanac.computation': name, 'almanac.takeover': takeover },
      () => this.decideComputation(runId, name, causationId, takeover),
    );
  }

  private async decideComputation(
    runId: string,
    name: string,
    causationId: string,
    takeover: boolean,
  ): Promise<void> {
    const key = `${runId}|${name}`;
    if (this.active.has(key)) return;
    this.active.add(key);
    try {
      await this.live.catchUp();
      const run = this.views.runs[runId];
      const c = run?.computations[name];
      if (!run || !c || isDecided(c)) return;
      if (c.status === 'running' && !takeover) {
        // a redelivered PassReady: make sure the lanes were started, and move on what is due
        await this.progress(runId, name, causationId);
        return;
      }
      if (c.status === 'running' && takeover) {
        const stalled = findStalled(run, this.now(), this.deps.config.execution.zombieThresholdMs);
        if (!stalled.takeOver.includes(name)) return; // it made progress meanwhile
      }
      let delegatedTo: string | undefined;
      if (c.status === 'waiting' && c.delegatedTo) {
        const other = await this.executionOf(c.delegatedTo, name);
        if (other.executing) return;
        delegatedTo = c.delegatedTo;
        if (other.status !== 'completed' && other.status !== 'skipped') {
          await this.decideOutcome(run, c, causationId, {
            kind: 'blocked',
            status: 'blocked',
            reason: { code: 'delegated', runId: c.delegatedTo, status: other.status ?? 'failed' },
          });
          return;
        }
      }
      const t0 = this.deps.clock().getTime();
      const entry = this.deps.project.manifest.entries.get(name);
      const key = hashKey(name, run.date);
      let evaluation: Evaluation;
      let entities: string[] = [];
      for (let round = 0; ; round++) {
        const seen = this.views.hashIndex[key]?.completedAt ?? null;
        ({ evaluation, entities } = await this.evaluateNow(run, c, delegatedTo));
        if (evaluation.kind !== 'run') {
          await this.decideOutcome(
            run,
            c,
            causationId,
            evaluation,
            this.deps.clock().getTime() - t0,
          );
          return;
        }
        if (run.dryRun || takeover) break;
        // one execution of a (computation, date) at a time: the others wait for its result
        const holder = await this.claim(run, name);
        if (holder !== null) {
          await this.decide({
            type: 'Delegate',
            runId,
            computation: name,
            to: holder,
            causationId,
            now: this.now(),
          });
          return;
        }
        // the last claimant may have completed it since this run looked: decide again with it
        await this.live.catchUp();
        if (round >= 2 || (this.views.hashIndex[key]?.completedAt ?? null) === seen) break;
      }
      const { batchSize, maxInFlight, leaseMs } = this.deps.config.execution;
      const batches = planBatches(entities, batchSize).map((entityIds, batch) => ({
        batch,
        entityIds,
      }));
      const attempt = c.attempt + 1;
      await this.stageInputs(run, name, c.type, attempt, batches);
      await this.decide({
        type: 'Decide',
        runId,
        computation: name,
        evaluation,
        entityCount: entities.length,
        batchCount: batches.length,
        owner: this.deps.owner,
        leaseMs,
        durationMs: this.deps.clock().getTime() - t0,
        causationId,
        now: this.now(),
        takeover,
        lanes: maxInFlight,
        firstBatches: batches.slice(0, maxInFlight),
        resultVersion: resultVersionFor(runId, attempt),
        readVersions: this.readVersions(run, c, entry?.config.isHistorical ?? false),
      });
      // a new attempt's breaker starts closed
      this.recordBreaker(runId, name);
      // nothing to dispatch (no entity): complete at once
      if (batches.length === 0) await this.progress(runId, name, causationId);
    } finally {
      this.active.delete(key);
    }
  }

  /** blocked / impossible / skipped / failed / run, and for run the entities to run over */
  private async evaluateNow(
    run: RunView,
    c: ComputationRunView,
    delegatedTo: string | undefined,
  ): Promise<{ evaluation: Evaluation; entities: string[] }> {
    try {
      const entry = this.deps.project.manifest.entries.get(c.name);
      if (!entry) throw new Error(`computation "${c.name}" is not in this executor's manifest`);
      // a forced run is satisfied by an execution that another run started after this run was
      // requested, or that it waited for: two forced runs sent together execute once
      const last = this.views.hashIndex[hashKey(c.name, run.date)];
      const satisfiedBy =
        delegatedTo ??
        (c.forced && last?.valid && last.startedAt >= run.requestedAt ? last.runId : undefined);
      let evaluation =
        blockedBy(this.dependencies(run, c)) ??
        (await this.evaluate(run, c, satisfiedBy !== undefined));
      if (evaluation.kind === 'skipped' && satisfiedBy)
        evaluation = {
          ...evaluation,
          reason: { code: 'delegated', runId: satisfiedBy, status: 'completed' },
        };
      const entities = evaluation.kind === 'run' ? await this.entities(run, entry.config.type) : [];
      return { evaluation, entities };
    } catch (err) {
      return {
        evaluation: {
          kind: 'failed',
          status: 'failed',
          reason: { code: 'error', message: errorMessage(err) },
        },
        entities: [],
      };
    }
  }

  private async decideOutcome(
    run: RunView,
    c: ComputationRunView,
    causationId: string,
    evaluation: Evaluation,
    durationMs = 0,
  ): Promise<void> {
    await this.decide({
      type: 'Decide',
      runId: run.runId,
      computation: c.name,
      evaluation,
      entityCount: 0,
      batchCount: 0,
      owner: this.deps.owner,
      leaseMs: this.deps.config.execution.leaseMs,
      durationMs,
      causationId,
      now: this.now(),
    });
    await this.advance(run.runId, causationId);
  }

  private dependencies(run: RunView, c: ComputationRunView) {
    return c.dependencies.map((d) => ({
      name: d,
      status: run.computations[d]?.status ?? 'blocked',
      resultHash: run.computations[d]?.resultHash ?? null,
    }));
  }

  /** the versions a batch reads: each dependency's in this run, and the previous date's */
  private readVersions(run: RunView, c: ComputationRunView, isHistorical: boolean): ReadVersions {
    const versions: ReadVersions = {};
    for (const d of c.dependencies) versions[d] = run.computations[d]?.resultVersion ?? null;
    if (isHistorical)
      versions[PREVIOUS_RESULT] =
        this.views.hashIndex[hashKey(c.name, previousDate(run.date))]?.resultVersion ?? null;
    return versions;
  }

  /**
   * Takes the execution of (computation, date) for this run: appends ExecutionClaimed to the
   * pair's claim stream, expecting the version it read. Returns the run it must wait for instead
   * (the last claimant, while it has not completed the computation), or null once claimed.
   */
  private async claim(run: RunView, name: string): Promise<string | null> {
    const streamId = streams.execution(name, run.date);
    for (let i = 0; i < CLAIM_ATTEMPTS; i++) {
      const history = await this.deps.store.readStream(streamId);
      const last = [...history].reverse().find((e) => e.type === 'ExecutionClaimed');
      const holder = last?.type === 'ExecutionClaimed' ? last.payload.runId : null;
      if (holder === run.runId) return null;
      if (holder !== null && (await this.executionOf(holder, name)).executing) return holder;
      const claimed = makeEvent({
        type: 'ExecutionClaimed',
        eventId: eventIds.executionClaimed(run.runId, name, run.date),
        streamId,
        correlationId: run.runId,
        causationId: null,
        producer: EXECUTOR,
        occurredAt: this.now(),
        payload: { runId: run.runId, date: run.date, computation: name },
      });
      try {
        await this.deps.publisher.publish([claimed], {
          expectedVersion: history.at(-1)?.streamVersion ?? 0,
        });
        return null;
      } catch (e) {
        if (!(e instanceof WrongExpectedVersionError)) throw e;
      }
    }
    throw new Error(
      `could not claim ${name} for ${run.date}: the claim stream kept changing (${CLAIM_ATTEMPTS} tries)`,
    );
  }

  /** Whether a run is still executing a computation (no ComputationCompleted yet), from its stream. */
  private async executionOf(
    runId: string,
    name: string,
  ): Promise<{ executing: boolean; status: Status | null }> {
    const events = await this.deps.store.readStream(streams.computation(runId, name));
    const done = events.find((e) => e.type === 'ComputationCompleted');
    if (done?.type === 'ComputationCompleted')
      return { executing: false, status: done.payload.status };
    return { executing: true, status: null };
  }

  /** Wakes the computations waiting for the (computation, date) that just completed. */
  private async wakeWaiting(p: { runId: string; computation: string; date: string }) {
    await this.live.catchUp();
    const waiting = Object.values(this.views.runs).filter((run) => {
      const c = run.computations[p.computation];
      return run.date === p.date && c?.status === 'waiting' && c.delegatedTo === p.runId;
    });
    await Promise.all(
      waiting.map((run) =>
        this.handleComputation(
          run.runId,
          p.computation,
          eventIds.computationCompleted(p.runId, p.computation),
        ),
      ),
    );
  }

  private async evaluate(
    run: RunView,
    c: ComputationRunView,
    forceSatisfied: boolean,
  ): Promise<Evaluation> {
    const entry = this.deps.project.manifest.entries.get(c.name)!;
    const inputs = await readRequiredInputs(
      entry.config.requires,
      this.deps.config.tables,
      run.date,
      (table, settings, window) =>
        this.cached<InputFingerprint>(
          run.runId,
          `fp|${table}|${settings.dateField ?? ''}|${window.from}|${window.to}`,
          async () => {
            const read = this.windowRead(run.runId, { table, settings, window });
            return read
              ? (await read).fingerprint
              : this.deps.warehouse.fingerprint(table, settings, window);
          },
        ),
    );
    if (entry.config.type === 'per-entity') {
      const ids = await this.allEntities(run);
      inputs.push(
        await this.cached(run.runId, 'entity-set-input', async () => entitySetInput(ids, run.date)),
      );
    }
    const index = this.views.hashIndex;
    return evaluateComputation({
      computation: c.name,
      codeHash: c.codeHash,
      epoch: this.deps.config.epoch,
      force: c.forced && !forceSatisfied,
      scopedEntityIds: entry.config.type === 'per-entity' ? run.entityIds : null,
      dependencies: this.dependencies(run, c),
      inputs,
      isHistorical: entry.config.isHistorical,
      previousResultHash: entry.config.isHistorical
        ? (index[hashKey(c.name, previousDate(run.date))]?.resultHash ?? null)
        : null,
      lastCompleted: index[hashKey(c.name, run.date)] ?? null,
    });
  }

  private async entities(run: RunView, type: 'global' | 'per-entity'): Promise<string[]> {
    if (type === 'global') return [GLOBAL_ENTITY];
    if (run.entityIds) return [...new Set(run.entityIds)].sort();
    return this.allEntities(run);
  }

  /** every entity of the run's date, whatever the run's scope */
  private allEntities(run: RunView): Promise<string[]> {
    const { table, idField, dateField } = this.deps.config.entities;
    return this.cached(run.runId, 'entities', () =>
      this.deps.warehouse.listEntities(table, idField, run.date, dateField),
    );
  }

  /**
   * The batches of a started attempt, planned again from its entities (any replica may need the
   * next batch of a lane). Checked against what the attempt recorded: a changed entity list or
   * batch count cannot continue that attempt.
   */
  private planOf(run: RunView, c: ComputationRunView): Promise<PlannedBatch[] | Error> {
    // planned once per attempt and replica: every answer of the attempt needs it
    return this.cached(run.runId, `plan|${c.name}|${c.attempt}`, () => this.plan(run, c));
  }

  /**
   * With staging, a window is read once for its fingerprint and its staged rows (ADR 0026): the
   * read of the run (BigQuery: one job, whose result pages cost nothing), or null where the
   * warehouse cannot (then the fingerprint and the staging read it apart).
   */
  private windowRead(runId: string, read: TableRead): Promise<WindowRead> | null {
    const { staging, warehouse } = this.deps;
    if (!staging || !warehouse.readWindow) return null;
    const { table, settings, window } = read;
    return this.cached(runId, windowReadKey(read), () =>
      warehouse.readWindow!(table, settings, window),
    );
  }

  /**
   * Stages the attempt's table windows for its batches before any is requested (ADR 0026): one
   * read per table and attempt, whichever replica moves the attempt on first.
   */
  private stageInputs(
    run: RunView,
    name: string,
    type: ComputationRunView['type'],
    attempt: number,
    plan: PlannedBatch[],
  ): Promise<void> {
    const { staging, project, config, warehouse } = this.deps;
    const entry = project.manifest.entries.get(name);
    if (!staging || !entry || type !== 'per-entity' || plan.length === 0) return Promise.resolve();
    return this.cached(run.runId, `stage|${name}|${attempt}`, async () => {
      const key = { runId: run.runId, computation: name, attempt };
      for (const read of tableReads(entry.config.requires, config.tables, run.date)) {
        // the rows of the read that gave the fingerprint, when this replica made it
        const made = this.runCache.get(run.runId)?.get(windowReadKey(read)) as
          Promise<WindowRead> | undefined;
        const source = made && (() => made.then((r) => r.rows()));
        await stageTable({ warehouse, store: staging }, key, read, plan, source);
      }
    });
  }

  private async plan(run: RunView, c: ComputationRunView): Promise<PlannedBatch[] | Error> {
    const entities = await this.entities(run, c.type);
    const batches = planBatches(entities, this.deps.config.execution.batchSize);
    const recorded = c.hashParts?.inputs[ENTITY_SET_INPUT];
    const changed =
      batches.length !== c.batchCount ||
      (c.type === 'per-entity' &&
        !run.entityIds &&
        recorded !== undefined &&
        recorded !== scopeDigest(entities));
    if (changed)
      return new PlanChangedError(
        `the entities of ${run.date} changed while ${c.name} ran (${entities.length} now, ${c.entityCount} when it started); run it again`,
      );
    return batches.map((entityIds, batch) => ({ batch, entityIds }));
  }

  /**
   * Finalises and completes the current attempt: a run restricted to some entities copies the
   * other entities' results from the version readers see now into its own; the result hash is
   * taken over the attempt's version; then ComputationCompleted names that version, and versions
   * older than the retention that nobody names any more are deleted.
   */
  private async complete(run: RunView, c: ComputationRunView, planError?: string): Promise<void> {
    const { results, config } = this.deps;
    const version = c.resultVersion ?? run.runId;
    let resultHash: string | null = null;
    let finaliseError = planError;
    const ok = !planError && !c.circuitOpen && !run.dryRun;
    if (ok) {
      try {
        if (c.scoped) {
          const current = this.views.hashIndex[hashKey(c.name, run.date)]?.resultVersion;
          if (current && current !== version)
            await results.copyForward(c.name, run.date, current, version, run.entityIds ?? []);
        }
        resultHash = combineResultHashes(await results.hashes(c.name, run.date, version));
      } catch (err) {
        finaliseError = errorMessage(err);
      }
    }
    const events = await this.decide({
      type: 'Complete',
      runId: run.runId,
      computation: c.name,
      attempt: c.attempt,
      failureTolerance: this.failureTolerance(c.name),
      retries: config.execution.breaker.retries,
      resultHash,
      resultVersion: ok ? version : null,
      finaliseError,
      now: this.now(),
    });
    const completed = events.find((e) => e.type === 'ComputationCompleted');
    if (completed?.type === 'ComputationCompleted' && completed.payload.resultVersion)
      this.collect(c.name, run.date, version);
    if (completed) this.unstage(run.runId, c.name);
  }

  /**
   * Deletes what was staged for a completed computation, every attempt's, off the run's path (a
   * bucket's lifecycle rule removes what a dead executor left); flush() waits.
   */
  private unstage(runId: string, computation: string): void {
    const { staging } = this.deps;
    if (!staging) return;
    const done = deleteStaged(staging, { runId, computation })
      .then(
        () => undefined,
        (err) => {
          process.stderr.write(
            `almanac executor: staged inputs of ${computation} in ${runId} not deleted: ${errorMessage(err)}\n`,
          );
        },
      )
      .finally(() => this.collecting.delete(done));
    this.collecting.add(done);
  }

  /**
   * Deletes the versions of (computation, date) nobody names any more, once older than the
   * retention. Off the run's path (deleting a large version can take seconds); flush() waits.
   */
  private collect(computation: string, date: string, keep: string): void {
    const retentionMs = this.deps.config.execution.resultRetentionDays * DAY_MS;
    const gc = this.deps.results
      .gc(computation, date, [keep], this.deps.clock().getTime() - retentionMs)
      .then(
        () => undefined,
        (err) => {
          process.stderr.write(
            `almanac executor: old result versions of ${computation} ${date} not collected: ${errorMessage(err)}\n`,
          );
        },
      )
      .finally(() => this.collecting.delete(gc));
    this.collecting.add(gc);
  }

  private failureTolerance(name: string): number {
    return this.deps.project.manifest.entries.get(name)?.config.failureTolerance ?? 0;
  }
}

const windowReadKey = (r: TableRead) =>
  `read|${r.table}|${r.settings.dateField ?? ''}|${r.window.from}|${r.window.to}`;

function errorMessage(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
