import { eventIds, GLOBAL_ENTITY, parseEnvelope, type Envelope } from '@almanac/contracts';
import type { EventStore } from '@almanac/eventlog';
import {
  blockedBy,
  completionFailure,
  evaluateComputation,
  findStalled,
  executorDecider,
  planBatches,
  type BatchesOutcome,
  type Evaluation,
  type ExecutorCommand,
} from '@almanac/domain/executor';
import {
  dispatchBatches,
  PermanentBatchError,
  type BatchResult,
  type PendingBatch,
} from './batch-dispatcher';
import { combineResultHashes, previousDate } from '@almanac/kernel';
import {
  hashIndexProjection,
  hashKey,
  ProjectionRunner,
  runProjection,
  type HashIndex,
  type RunsView,
} from '@almanac/domain/projections';
import type { InputFingerprint, ResultStore, Warehouse } from '@almanac/warehouse';
import { entitySetInput, readRequiredInputs } from '@almanac/platform';
import type { EventPublisher } from '@almanac/platform';
import type { LoadedProject } from '@almanac/platform';
import type { ProjectConfig } from '@almanac/platform';

type Waiter = { retry: number; resolve: (r: BatchResult) => void; reject: (e: Error) => void };

/**
 * Executor shell: on PassReady it decides each computation of the pass (blocked / impossible /
 * skipped / run), dispatches the batches of those that run through the breaker, completes them,
 * and moves the run on. State comes from projections of the log, never from memory alone.
 */
export class ExecutorService {
  readonly projections: ProjectionRunner<{ runs: RunsView; hashIndex: HashIndex }>;
  private readonly waiters = new Map<string, Waiter>();
  private readonly active = new Set<string>();
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
    },
  ) {
    this.projections = new ProjectionRunner(deps.store, {
      runs: runProjection,
      hashIndex: hashIndexProjection,
    });
  }

  async onPassMessage(data: string): Promise<void> {
    const event = parseEnvelope(JSON.parse(data));
    if (event.type === 'PassReady') await this.onPassReady(event);
  }

  async onBatchResultMessage(data: string): Promise<void> {
    const event = parseEnvelope(JSON.parse(data));
    if (event.type !== 'BatchDone') return;
    const p = event.payload;
    const key = waiterKey(p.runId, p.computation, p.attempt, p.batch);
    const waiter = this.waiters.get(key);
    if (!waiter) return; // a duplicate, or an answer to a superseded attempt: fenced off
    // a success from any try of this batch answers it (results are idempotent: an earlier try
    // redelivered to a restarted worker counts); a failure counts only for the current try
    if (p.error !== undefined && p.retry !== waiter.retry) return;
    this.waiters.delete(key);
    if (p.error !== undefined) {
      // an error retrying cannot fix (an unknown column...) is not retried and does not trip the breaker
      waiter.reject(p.permanent ? new PermanentBatchError(p.error) : new Error(p.error));
    } else waiter.resolve({ processed: p.processed, saved: p.saved, failures: p.failures });
  }

  async onPassReady(event: Envelope<'PassReady'>): Promise<void> {
    const { runId, computations } = event.payload;
    await this.projections.catchUp();
    const run = this.projections.views.runs[runId];
    if (!run || run.status === 'completed' || run.status === 'failed' || run.status === 'rejected')
      return;
    await Promise.all(
      computations.map((name) => this.handleComputation(runId, name, event.eventId)),
    );
    await this.advance(runId, event.eventId);
  }

  /**
   * Picks up work whose owner stopped making progress: computations quiet for the zombie threshold
   * get a new attempt (late answers to the old one are fenced off), a pass made ready but never
   * started is started, a finished pass that was not moved on is moved on.
   */
  async sweep(): Promise<void> {
    await this.projections.catchUp();
    const now = this.now();
    const threshold = this.deps.config.execution.zombieThresholdMs;
    await Promise.all(
      Object.values(this.projections.views.runs).map(async (run) => {
        const stalled = findStalled(run, now, threshold);
        const causation = eventIds.passReady(run.runId, run.currentPass ?? 0);
        await Promise.all(
          [...stalled.takeOver, ...stalled.start].map((name) =>
            this.handleComputation(run.runId, name, causation),
          ),
        );
        if (stalled.advance || stalled.takeOver.length || stalled.start.length)
          await this.advance(run.runId, causation);
      }),
    );
  }

  private now(): string {
    return this.deps.clock().toISOString();
  }

  private async decide(command: ExecutorCommand): Promise<Envelope[]> {
    await this.projections.catchUp();
    const events = executorDecider.decide(command, this.projections.views.runs);
    const fresh = await this.deps.publisher.publish(events);
    await this.projections.catchUp();
    return fresh;
  }

  private async advance(runId: string, causationId: string): Promise<void> {
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

  private async handleComputation(runId: string, name: string, causationId: string): Promise<void> {
    const key = `${runId}|${name}`;
    if (this.active.has(key)) return;
    this.active.add(key);
    try {
      await this.projections.catchUp();
      const run = this.projections.views.runs[runId];
      const c = run?.computations[name];
      if (!run || !c || (c.status !== 'pending' && c.status !== 'running')) return;
      // a running computation belongs to its owner until it has been quiet for the zombie threshold
      const takeover = c.status === 'running';
      if (
        takeover &&
        !findStalled(
          run,
          this.now(),
          this.deps.config.execution.zombieThresholdMs,
        ).takeOver.includes(name)
      ) {
        return;
      }
      const t0 = this.deps.clock().getTime();
      const entry = this.deps.project.manifest.entries.get(name);
      let evaluation: Evaluation;
      let entities: string[] = [];
      try {
        if (!entry) throw new Error(`computation "${name}" is not in this executor's manifest`);
        evaluation =
          blockedBy(
            c.dependencies.map((d) => ({
              name: d,
              status: run.computations[d]?.status ?? 'blocked',
              resultHash: run.computations[d]?.resultHash ?? null,
            })),
          ) ?? (await this.evaluate(runId, name));
        if (evaluation.kind === 'run') entities = await this.entities(runId, entry.config.type);
      } catch (err) {
        evaluation = {
          kind: 'failed',
          status: 'failed',
          reason: { code: 'error', message: errorMessage(err) },
        };
      }
      const batchSize = this.deps.config.execution.batchSize;
      const batches = planBatches(entities, batchSize);
      const started = await this.decide({
        type: 'Decide',
        runId,
        computation: name,
        evaluation,
        entityCount: entities.length,
        batchCount: batches.length,
        owner: this.deps.owner,
        leaseMs: this.deps.config.execution.leaseMs,
        durationMs: this.deps.clock().getTime() - t0,
        causationId,
        now: this.now(),
        takeover,
      });
      const startEvent = started.find((e) => e.type === 'ComputationStarted');
      if (!startEvent || startEvent.type !== 'ComputationStarted') return;
      await this.execute(runId, name, startEvent.payload.attempt, batches);
    } finally {
      this.active.delete(key);
    }
  }

  private async evaluate(runId: string, name: string): Promise<Evaluation> {
    const run = this.projections.views.runs[runId];
    const entry = this.deps.project.manifest.entries.get(name)!;
    const planned = run.computations[name];
    const inputs = await readRequiredInputs(
      entry.config.requires,
      this.deps.config.tables,
      run.date,
      (table, settings, window) =>
        this.cached<InputFingerprint>(
          runId,
          `fp|${table}|${settings.dateField ?? ''}|${window.from}|${window.to}`,
          () => this.deps.warehouse.fingerprint(table, settings, window),
        ),
    );
    if (entry.config.type === 'per-entity') {
      const ids = await this.allEntities(runId);
      inputs.push(
        await this.cached(runId, 'entity-set-input', async () => entitySetInput(ids, run.date)),
      );
    }
    const index = this.projections.views.hashIndex;
    return evaluateComputation({
      computation: name,
      codeHash: planned.codeHash,
      epoch: this.deps.config.epoch,
      force: run.force,
      scopedEntityIds: entry.config.type === 'per-entity' ? run.entityIds : null,
      dependencies: planned.dependencies.map((d) => ({
        name: d,
        status: run.computations[d].status,
        resultHash: run.computations[d].resultHash,
      })),
      inputs,
      isHistorical: entry.config.isHistorical,
      previousResultHash: entry.config.isHistorical
        ? (index[hashKey(name, previousDate(run.date))]?.resultHash ?? null)
        : null,
      lastCompleted: index[hashKey(name, run.date)] ?? null,
    });
  }

  private async entities(runId: string, type: 'global' | 'per-entity'): Promise<string[]> {
    if (type === 'global') return [GLOBAL_ENTITY];
    const run = this.projections.views.runs[runId];
    if (run.entityIds) return [...new Set(run.entityIds)].sort();
    return this.allEntities(runId);
  }

  /** every entity of the run's date, whatever the run's scope */
  private allEntities(runId: string): Promise<string[]> {
    const run = this.projections.views.runs[runId];
    const { table, idField, dateField } = this.deps.config.entities;
    return this.cached(runId, 'entities', () =>
      this.deps.warehouse.listEntities(table, idField, run.date, dateField),
    );
  }

  private async execute(
    runId: string,
    name: string,
    attempt: number,
    batches: string[][],
  ): Promise<void> {
    const { config, results } = this.deps;
    let outcome: BatchesOutcome;
    try {
      const dispatched = await dispatchBatches({
        batches: batches.map((entityIds, batch) => ({ batch, entityIds })),
        maxInFlight: config.execution.maxInFlight,
        settings: config.execution.breaker,
        send: (b, retry) => this.send(runId, name, attempt, b, retry),
      });
      const done = [...dispatched.results.values()];
      outcome = {
        processed: done.reduce((s, r) => s + r.processed, 0),
        saved: done.reduce((s, r) => s + r.saved, 0),
        failures: done.flatMap((r) => r.failures),
        batchErrors: dispatched.batchErrors,
        circuitOpen: dispatched.circuitOpen?.message ?? null,
      };
      if (dispatched.circuitOpen) {
        await this.decide({
          type: 'OpenCircuit',
          runId,
          computation: name,
          attempt,
          ...dispatched.circuitOpen,
          now: this.now(),
        });
      }
    } catch (err) {
      outcome = {
        processed: 0,
        saved: 0,
        failures: [],
        batchErrors: [{ batch: -1, message: errorMessage(err) }],
        circuitOpen: null,
      };
    } finally {
      for (const k of this.waiters.keys())
        if (k.startsWith(`${runId}|${name}|${attempt}|`)) this.waiters.delete(k);
    }
    const run = this.projections.views.runs[runId];
    const c = run.computations[name];
    let resultHash: string | null = null;
    if (!run.dryRun && !completionFailure(outcome, c.entityCount, this.failureTolerance(name))) {
      try {
        // a full run owns the date: results of entities it no longer produced go
        if (!c.scoped) await results.prune(name, run.date, runId);
        resultHash = combineResultHashes(await results.hashes(name, run.date));
      } catch (err) {
        outcome.batchErrors.push({
          batch: -1,
          message: `could not finalise results: ${errorMessage(err)}`,
        });
      }
    }
    await this.decide({
      type: 'Complete',
      runId,
      computation: name,
      attempt,
      outcome,
      failureTolerance: this.failureTolerance(name),
      resultHash,
      now: this.now(),
    });
  }

  private failureTolerance(name: string): number {
    return this.deps.project.manifest.entries.get(name)?.config.failureTolerance ?? 0;
  }

  private async send(
    runId: string,
    name: string,
    attempt: number,
    b: PendingBatch,
    retry: number,
  ): Promise<BatchResult> {
    const key = waiterKey(runId, name, attempt, b.batch);
    const answer = new Promise<BatchResult>((resolve, reject) =>
      this.waiters.set(key, { retry, resolve, reject }),
    );
    const events = executorDecider.decide(
      {
        type: 'RequestBatch',
        runId,
        computation: name,
        attempt,
        batch: b.batch,
        retry,
        entityIds: b.entityIds,
        now: this.now(),
      },
      this.projections.views.runs,
    );
    if (events.length === 0) {
      this.waiters.delete(key);
      throw new PermanentBatchError(`attempt ${attempt} of "${name}" is no longer current`);
    }
    await this.deps.publisher.publish(events);
    return answer;
  }
}

function waiterKey(runId: string, computation: string, attempt: number, batch: number): string {
  return `${runId}|${computation}|${attempt}|${batch}`;
}

function errorMessage(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
