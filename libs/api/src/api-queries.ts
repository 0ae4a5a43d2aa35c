import { streams, type Envelope } from '@almanac/contracts';
import type { EventStore, StoredEvent } from '@almanac/eventlog';
import {
  compareRunKeys,
  hashKey,
  runKey,
  type Decision,
  type ExportRecord,
  type HashIndexEntry,
  type RunKey,
  type RunView,
} from '@almanac/domain/projections';
import type { Warehouse } from '@almanac/warehouse';
import {
  idempotentRunId,
  InvalidRunRequestError,
  newRunId,
  runRequestedEvent,
  unknownComputationsMessage,
  validateRunRequest,
  type RetentionSweep,
  type RunRequest,
  type ValidRunRequest,
} from '@almanac/platform';
import type { EventPublisher } from '@almanac/platform';
import type { LoadedProject } from '@almanac/platform';
import type { ProjectConfig } from '@almanac/platform';
import {
  analyze,
  describeReason,
  readRunEvents,
  readRunView,
  explain,
  latestRunDate,
  statusRows,
  type AnalyzeRow,
  type ExplainReport,
  type ForceOptions,
  type RunLookup,
  type StatusRow,
  type Views,
} from './queries';
import { readDroppedRuns, type RunMatch } from './older-runs';
import { invalidationsOf, type InvalidationRecord } from './invalidations';
import { datesOf, previewImpact, type ImpactPreview } from './preview/impact-preview';
import { dagGraph, type DagGraph } from './graph/dag-graph';
import type {
  ComputationInfo,
  ComputationStatus,
  ComputationsResponse,
  RunSummary,
  RunsPage,
  RunTimeline,
  TimelineEntry,
} from './api-types';

/** Where the api's views come from: projections of the log, kept up to date by catchUp(). */
export interface ProjectionSource {
  catchUp(): Promise<void>;
  readonly views: Views;
  readonly position: string | null;
  rebuild(): Promise<{ events: number; position: string | null }>;
  verify(): Promise<{
    equal: boolean;
    position: string | null;
    events: number;
    differences: Array<{ view: string; path: string; live: unknown; rebuilt: unknown }>;
  }>;
  /** the views as they were at a time, folded from the log */
  asOf(timestamp: string): Promise<Views>;
}

export interface ApiBackend {
  profile: 'embedded' | 'gcp';
  store: EventStore;
  publisher: EventPublisher;
  project: LoadedProject;
  config: ProjectConfig;
  warehouse: Warehouse;
  projections: ProjectionSource;
  clock: () => Date;
  /**
   * answers may be this stale: a request within this long of the previous catch-up does not read
   * the log again (default 0: every request catches up). The gcp api sets it because every
   * catch-up is a query on Spanner, and status pages poll.
   */
  maxStalenessMs?: number;
  /** runs POST /retention (ADR 0018); absent: this api holds no result store */
  retention?: RetentionSweep;
}

/** A request the api cannot answer as asked; the controllers turn it into 400, 404 or 422. */
export class ApiRequestError extends Error {
  constructor(
    readonly status: 400 | 404 | 409 | 422,
    message: string,
    /** what is wrong, field by field (answered as `issues`, as zod's are) */
    readonly issues?: readonly unknown[],
    /** what the client needs to act on it (answered as `details`) */
    readonly details?: unknown,
  ) {
    super(message);
    this.name = 'ApiRequestError';
  }
}

export interface RunFilters extends RunMatch {
  limit: number;
  cursor?: string;
}

export interface RunRequestInput {
  date: string;
  targets: string[];
  entityIds?: string[];
  force: boolean;
  forceUpstream?: boolean;
  dryRun: boolean;
  requestedBy: string;
}

/** the longest range a preview covers (ten years) */
export const MAX_PREVIEW_DATES = 3660;

const ACTIVE: ReadonlySet<string> = new Set(['requested', 'planned', 'running']);

/** The fields of a run request an Idempotency-Key binds: a retry must repeat them. */
const REQUEST_FIELDS = [
  'date',
  'targets',
  'entityIds',
  'force',
  'forceUpstream',
  'dryRun',
] as const;

/** What every endpoint answers, computed from projections of the log and nothing else. */
export class AlmanacQueries {
  private lastCatchUp: { at: number; done: Promise<void> } | null = null;

  constructor(readonly backend: ApiBackend) {}

  private async views(): Promise<Views> {
    const now = Date.now();
    const stale = this.backend.maxStalenessMs ?? 0;
    if (!this.lastCatchUp || now - this.lastCatchUp.at >= stale) {
      const done = this.backend.projections.catchUp();
      this.lastCatchUp = { at: now, done };
      // a failed catch-up is not remembered: the next request tries again
      done.catch(() => {
        if (this.lastCatchUp?.done === done) this.lastCatchUp = null;
      });
    }
    await this.lastCatchUp.done;
    return this.backend.projections.views;
  }

  /**
   * Appends and publishes RunRequested. With an idempotency key the run id is derived from
   * (requestedBy, key), so the log's unique event ids make a retry (from any replica, after any
   * restart) find the first request instead of starting another run: `replayed` is then true and
   * nothing is appended. A retry must repeat the first request, else 422.
   */
  async requestRun(
    input: RunRequestInput,
    idempotencyKey?: string,
  ): Promise<{ runId: string; replayed: boolean }> {
    const now = this.backend.clock();
    const valid = this.validate(input, now);
    if (idempotencyKey === undefined) {
      const runId = newRunId(now);
      await this.backend.publisher.publish([runRequestedEvent(runId, now, valid, 'api')]);
      return { runId, replayed: false };
    }
    const runId = idempotentRunId(input.requestedBy, idempotencyKey);
    const event = runRequestedEvent(runId, now, valid, 'api');
    const fresh = await this.backend.publisher.publish([event]);
    if (fresh.length > 0) return { runId, replayed: false };
    const first = (await this.backend.store.readStream(streams.run(runId))).find(
      (e) => e.type === 'RunRequested',
    );
    if (!first) throw new Error(`run ${runId} has no RunRequested although its id is in the log`);
    const was = first.payload as Record<string, unknown>;
    const asked = event.payload as Record<string, unknown>;
    const differences = REQUEST_FIELDS.filter(
      (f) => JSON.stringify(was[f]) !== JSON.stringify(asked[f]),
    );
    if (differences.length > 0) {
      const changes = differences
        .map((f) => `${f} was ${JSON.stringify(was[f])}, now ${JSON.stringify(asked[f])}`)
        .join('; ');
      throw new ApiRequestError(
        422,
        `Idempotency-Key "${idempotencyKey}" was first sent by ${input.requestedBy} with another ` +
          `request, which started run ${runId}: ${changes}. Send a new key for a new run`,
        undefined,
        { runId, differences },
      );
    }
    return { runId, replayed: true };
  }

  /**
   * The rules the CLI and the planner apply too (validateRunRequest), answered 404 when the only
   * issue is an unknown computation, else 400, with the same message as the CLI's.
   */
  private validate(request: RunRequest, now: Date): ValidRunRequest {
    try {
      return validateRunRequest(request, this.backend.project, this.backend.config, now);
    } catch (e) {
      if (!(e instanceof InvalidRunRequestError)) throw e;
      throw new ApiRequestError(e.code === 'unknown-computation' ? 404 : 400, e.message, e.issues);
    }
  }

  /**
   * Runs newest first. The live views hold every run still going and every finished run after
   * their horizon; a page that reaches past the horizon reads the dropped runs from the log.
   */
  async listRuns(filters: RunFilters): Promise<RunsPage> {
    if (filters.computation) this.checkTargets([filters.computation]);
    const before = filters.cursor ? decodeCursor(filters.cursor) : null;
    const now = this.backend.clock().getTime();
    const { runs: live, horizon } = (await this.views()).runs;
    const kept = Object.values(live)
      .filter((r) => matches(r, filters))
      .filter((r) => !before || compareRunKeys(runKey(r), before) < 0)
      .sort(newestFirst);
    let runs: RunView[] = kept;
    // every run dropped is at or before the horizon: with more than a page after it, none shows
    const afterHorizon = horizon
      ? kept.filter((r) => compareRunKeys(runKey(r), horizon) > 0).length
      : kept.length;
    const onlyActive = filters.status?.length && filters.status.every((s) => ACTIVE.has(s));
    if (horizon && afterHorizon <= filters.limit && !onlyActive) {
      const dropped = await readDroppedRuns(this.backend.store, {
        ...filters,
        horizon,
        before,
        skip: new Set(Object.keys(live)),
        limit: filters.limit + 1,
      });
      const read = await Promise.all(dropped.map(([, id]) => readRunView(this.backend.store, id)));
      runs = [...kept, ...read.filter((r): r is RunView => r !== null)].sort(newestFirst);
    }
    const page = runs.slice(0, filters.limit);
    const more = runs.length > filters.limit;
    return {
      runs: page.map((r) => runSummary(r, now)),
      nextCursor: more ? encodeCursor(runKey(page[page.length - 1])) : null,
    };
  }

  async getRun(runId: string): Promise<RunView & { elapsedMs: number }> {
    const run = await this.runOf(await this.views())(runId);
    if (!run) throw new ApiRequestError(404, `unknown run "${runId}"`);
    return { ...run, elapsedMs: elapsed(run, this.backend.clock().getTime()) };
  }

  /** a run from the live views, or folded from its own streams when they dropped it */
  private runOf(views: Views): RunLookup {
    return async (runId) =>
      Object.hasOwn(views.runs.runs, runId)
        ? views.runs.runs[runId]
        : readRunView(this.backend.store, runId);
  }

  /** The run's timeline: every event of its streams, in log order. */
  async runEvents(runId: string): Promise<RunTimeline> {
    const events = await readRunEvents(this.backend.store, runId);
    if (events.length === 0) throw new ApiRequestError(404, `unknown run "${runId}"`);
    return { runId, events: events.map(timelineEntry) };
  }

  /** The manifest, and each computation's latest status for a date when one is given. */
  async computations(date?: string, asOf?: string): Promise<ComputationsResponse> {
    const views = date ? await this.viewsAt(asOf) : null;
    const rows = views && date ? statusRows(this.backend.project, views, date) : [];
    const byName = new Map(rows.map((r) => [r.computation, r]));
    const { manifest, planned } = this.backend.project;
    const computations: ComputationInfo[] = [...planned.values()]
      .sort((a, b) => a.pass - b.pass || a.name.localeCompare(b.name))
      .map((c) => {
        const entry = manifest.entries.get(c.name)!;
        const row = byName.get(c.name);
        return {
          name: c.name,
          type: c.type,
          pass: c.pass,
          dependencies: c.dependencies,
          schedule: entry.config.schedule,
          codeHash: c.codeHash,
          ...(row ? { latest: computationStatus(row) } : {}),
        };
      });
    return { passes: manifest.passes.map((p) => [...p]), computations, date: date ?? null };
  }

  /** The latest status of each computation for a date (default: the date of the latest run). */
  async status(
    date?: string,
    asOf?: string,
  ): Promise<{ date: string | null; asOf: string | null; computations: StatusRow[] }> {
    const views = await this.viewsAt(asOf);
    const d = date ?? latestRunDate(views);
    return {
      date: d,
      asOf: asOf ?? null,
      computations: d ? statusRows(this.backend.project, views, d) : [],
    };
  }

  async computationDate(name: string, date: string) {
    this.checkTargets([name]);
    const views = await this.views();
    const entry = views.decisions[hashKey(name, date)];
    const current = views.hashIndex[hashKey(name, date)] ?? null;
    const latest = entry?.latest ?? null;
    return {
      computation: name,
      date,
      status: latest?.status ?? 'never-run',
      why: latest ? describeReason(latest.reason) : 'never run for this date',
      compositeHash: latest?.compositeHash ?? null,
      hashParts: latest?.hashParts ?? null,
      resultHash: latest?.resultHash ?? null,
      /** the completed result later runs compare against (null: nothing valid to skip against) */
      current: current
        ? { runId: current.runId, resultHash: current.resultHash, valid: current.valid }
        : null,
      failedEntities: latest?.failedEntities ?? [],
      history: (entry?.history ?? []).map((d) => decisionSummary(d)),
      /** older decisions than `history` holds: in the log (audit, GET /runs/:id/events) */
      olderDecisions: entry?.earlier ?? 0,
    };
  }

  async analyze(date: string, targets: string[], force: ForceOptions): Promise<AnalyzeRow[]> {
    // what a run would do: the request it predicts must be one a run would accept
    this.validate({ date, targets, ...force }, this.backend.clock());
    const { project, config, warehouse } = this.backend;
    return analyze(project, config, warehouse, await this.views(), date, targets, force);
  }

  /**
   * What runs of every date of [from, to] would do and why, appending nothing. Each date must be
   * one a run would accept (the rules of `analyze`), and the range at most MAX_PREVIEW_DATES long.
   */
  async previewRange(
    from: string,
    to: string,
    targets: string[],
    force: ForceOptions,
  ): Promise<ImpactPreview> {
    const now = this.backend.clock();
    this.validate({ date: from, targets, ...force }, now);
    this.validate({ date: to, targets, ...force }, now);
    if (from > to) throw new ApiRequestError(400, `from (${from}) is after to (${to})`);
    const dates = datesOf(from, to).length;
    if (dates > MAX_PREVIEW_DATES)
      throw new ApiRequestError(
        400,
        `${from}..${to} holds ${dates} dates; a preview covers at most ${MAX_PREVIEW_DATES}: split the range`,
      );
    const views = await this.views();
    const { project, config, warehouse } = this.backend;
    return previewImpact(
      { project, config, warehouse, views, runOf: this.runOf(views) },
      from,
      to,
      targets,
      force,
    );
  }

  /** The DAG, marked with what runs of [from, to] would do when a range is given. */
  async graph(range?: { from: string; to: string }): Promise<DagGraph> {
    const preview = range
      ? await this.previewRange(range.from, range.to, [], { force: false, forceUpstream: false })
      : undefined;
    return dagGraph(this.backend.project, preview);
  }

  async explain(name: string, date: string): Promise<ExplainReport> {
    this.checkTargets([name]);
    const views = await this.views();
    const report = await explain(views, name, date, this.runOf(views));
    if (!report)
      throw new ApiRequestError(404, `${name} has never run for ${date}`, undefined, {
        code: 'never-run',
      });
    return { ...report, invalidations: await invalidationsOf(this.backend.store, name, date) };
  }

  /** Lineage of the current result, from a replay of the log (up to asOf when given). */
  async audit(name: string, date: string, asOf?: string): Promise<AuditNode> {
    this.checkTargets([name]);
    const views = await this.backend.projections.asOf(asOf ?? '9999-12-31T23:59:59.999Z');
    const node = auditLineage(views, name, date);
    return { ...node, invalidations: await invalidationsOf(this.backend.store, name, date, asOf) };
  }

  private async viewsAt(asOf?: string): Promise<Views> {
    return asOf ? this.backend.projections.asOf(asOf) : this.views();
  }

  /** unknown computation names are refused with the known ones */
  checkTargets(names: string[]): void {
    const known = this.backend.project.manifest.entries;
    const unknown = names.filter((n) => !known.has(n));
    if (unknown.length)
      throw new ApiRequestError(404, unknownComputationsMessage(unknown, [...known.keys()]));
  }
}

function newestFirst(a: RunView, b: RunView): number {
  return compareRunKeys(runKey(b), runKey(a));
}

function matches(r: RunView, f: RunMatch): boolean {
  return (
    (!f.status?.length || f.status.includes(r.status)) &&
    (!f.from || r.date >= f.from) &&
    (!f.to || r.date <= f.to) &&
    (!f.computation ||
      r.computations[f.computation] !== undefined ||
      r.targets.includes(f.computation))
  );
}

function encodeCursor(key: RunKey): string {
  return Buffer.from(JSON.stringify(key)).toString('base64url');
}

function decodeCursor(cursor: string): RunKey {
  try {
    const [requestedAt, runId] = JSON.parse(Buffer.from(cursor, 'base64url').toString()) as [
      unknown,
      unknown,
    ];
    if (typeof requestedAt !== 'string' || typeof runId !== 'string') throw new Error('shape');
    return [requestedAt, runId];
  } catch {
    throw new ApiRequestError(400, `invalid cursor "${cursor}": pass back a nextCursor as given`);
  }
}

function elapsed(run: RunView, now: number): number {
  if (run.durationMs !== null) return run.durationMs;
  const end = run.completedAt ? Date.parse(run.completedAt) : now;
  return Math.max(0, end - Date.parse(run.requestedAt));
}

export function runSummary(run: RunView, now: number): RunSummary {
  const counts: Record<string, number> = {};
  const errors: RunSummary['errors'] = [];
  const exports: RunSummary['exports'] = [];
  for (const c of Object.values(run.computations)) {
    if (c.export) exports.push({ computation: c.name, ...c.export });
    counts[c.status] = (counts[c.status] ?? 0) + 1;
    if (c.status === 'failed' || c.status === 'blocked' || c.status === 'impossible')
      errors.push({ computation: c.name, status: c.status, message: describeReason(c.reason) });
  }
  return {
    runId: run.runId,
    date: run.date,
    status: run.status,
    targets: run.targets,
    force: run.force,
    forceUpstream: run.forceUpstream,
    dryRun: run.dryRun,
    requestedBy: run.requestedBy,
    requestedAt: run.requestedAt,
    completedAt: run.completedAt,
    elapsedMs: elapsed(run, now),
    counts,
    errors,
    rejection: run.rejection,
    exports,
  };
}

export const isActive = (run: { status: string }) => ACTIVE.has(run.status);

function computationStatus(row: StatusRow): ComputationStatus {
  return {
    date: row.date,
    status: row.status,
    reason: row.reason,
    why: describeReason(row.reason),
    runId: row.runId,
    at: row.at,
    resultHash: row.resultHash,
    entities: row.entities,
    failedEntities: row.failedEntities,
  };
}

function decisionSummary(d: Decision) {
  return {
    runId: d.runId,
    status: d.status,
    why: describeReason(d.reason),
    reason: d.reason,
    at: d.at,
    compositeHash: d.compositeHash,
    resultHash: d.resultHash,
    entities: d.entities,
    failedEntities: d.failedEntities.map((f) => f.entityId),
    forced: d.forced,
    scoped: d.scoped,
    dryRun: d.dryRun,
    durationMs: d.durationMs,
  };
}

export function timelineEntry(e: StoredEvent): TimelineEntry {
  const p = e.payload as Record<string, unknown>;
  const computation = typeof p.computation === 'string' ? p.computation : null;
  return {
    position: e.position,
    recordedAt: e.recordedAt,
    occurredAt: e.occurredAt,
    type: e.type,
    eventId: e.eventId,
    producer: e.producer,
    computation,
    summary: summarize(e),
    payload: e.payload,
    traceId: e.metadata?.traceId ?? null,
  };
}

/** One line per event, for timelines (CLI replay and the status page). */
export function summarize(e: Envelope): string {
  switch (e.type) {
    case 'RunRequested': {
      const p = e.payload;
      const what = p.targets.length ? p.targets.join(', ') : 'every computation';
      return `run requested by ${p.requestedBy} for ${p.date}: ${what}${p.forceUpstream ? ' (forced with their dependencies)' : p.force ? ' (forced)' : ''}${p.dryRun ? ' (dry run)' : ''}${p.entityIds ? ` for ${p.entityIds.length} entities` : ''}`;
    }
    case 'RunPlanned':
      return `planned ${e.payload.computations.length} computations in ${e.payload.passes.length} passes`;
    case 'RunRejected':
      return `rejected: ${e.payload.message}`;
    case 'PassReady':
      return `pass ${e.payload.pass} ready`;
    case 'ComputationStarted':
      return `${e.payload.computation} started (${describeReason(e.payload.reason)}): ${e.payload.entityCount} entities in ${e.payload.batchCount} batches, attempt ${e.payload.attempt} by ${e.payload.owner}`;
    case 'BatchRequested':
      return `${e.payload.computation} batch ${e.payload.batch} requested (${e.payload.entityIds.length} entities)`;
    case 'BatchDone': {
      const p = e.payload;
      if (p.error !== undefined) return `${p.computation} batch ${p.batch} failed: ${p.error}`;
      return `${p.computation} batch ${p.batch} done: ${p.processed} processed, ${p.saved} saved, ${p.failures.length} failed`;
    }
    case 'CircuitOpened':
      return `${e.payload.computation}: circuit opened`;
    case 'ComputationCompleted':
      return `${e.payload.computation} ${e.payload.status}: ${describeReason(e.payload.reason)}`;
    case 'RunCompleted':
      return `run ${e.payload.status} in ${e.payload.durationMs} ms`;
    case 'ComputationDelegated':
      return `${e.payload.computation} waits for run ${e.payload.to}, which is executing it for ${e.payload.date}`;
    case 'ExecutionClaimed':
      return `${e.payload.computation} for ${e.payload.date} claimed for execution`;
    case 'ComputationsInvalidated':
      return `${e.payload.computations.join(', ')} invalidated for ${e.payload.from}..${e.payload.to} by ${e.payload.requestedBy}: ${e.payload.reason}`;
    case 'ResultVersionsExpired':
      return `${e.payload.computation} ${e.payload.date}: ${e.payload.versions.length} result versions expired (ttlDays ${e.payload.ttlDays})`;
    case 'SchedulePaused':
      return `schedule of ${e.payload.computation} paused by ${e.payload.by}`;
    case 'ScheduleResumed':
      return `schedule of ${e.payload.computation} resumed by ${e.payload.by}`;
    case 'ResultsExported':
      return `${e.payload.computation} ${e.payload.date}: version ${e.payload.version} exported to ${e.payload.table} (${e.payload.rows} rows)`;
    case 'ResultsExportFailed':
      return `${e.payload.computation} ${e.payload.date}: export of version ${e.payload.version} to ${e.payload.table} failed (attempt ${e.payload.attempt}${e.payload.retryable ? ', will retry' : ''}): ${e.payload.error}`;
    case 'BackfillRequested':
      return `backfill ${e.payload.backfillId} requested by ${e.payload.requestedBy}: ${e.payload.from} to ${e.payload.to}, ${e.payload.concurrency} at once`;
  }
}

export interface AuditNode {
  computation: string;
  date: string;
  /** the run whose completed result is current (null: no valid result) */
  runId: string | null;
  completedAt: string | null;
  resultHash: string | null;
  compositeHash: string | null;
  valid: boolean;
  /** set while an operator's invalidation taints the current result (its next run re-runs it) */
  taint?: HashIndexEntry['taint'];
  /** the operator's invalidations of (computation, date), oldest first (the top node only) */
  invalidations?: InvalidationRecord[];
  /** the latest version exported to BigQuery (ADR 0026); null: none was */
  exported: ExportRecord | null;
  hashParts: Decision['hashParts'];
  /** every decision for (computation, date), oldest first: the runs that skipped, failed, re-ran */
  decisions: ReturnType<typeof decisionSummary>[];
  /** the dependencies' results this one was computed from, each with its own lineage */
  dependencies: Array<{
    name: string;
    resultHash: string | null;
    /** the latest run that completed the dependency with this result */
    producedBy: string | null;
    /** a later run has since replaced the dependency's result with another one */
    replaced: boolean;
    /** the dependency's own lineage (null when replaced, or already shown higher up) */
    lineage: AuditNode | null;
  }>;
}

/**
 * The lineage of the current result of (computation, date), folded from the log: which run
 * produced it, from which hash parts, which dependency results (and their runs), and every decision
 * taken for it across runs.
 */
export function auditLineage(
  views: Views,
  computation: string,
  date: string,
  seen = new Set<string>(),
): AuditNode {
  const key = hashKey(computation, date);
  seen.add(key);
  const current = views.hashIndex[key] ?? null;
  const decisions = (views.decisions[key]?.history ?? []).map(decisionSummary);
  const deps = Object.entries(current?.hashParts.dependencies ?? {}).map(([name, resultHash]) => {
    const depKey = hashKey(name, date);
    const depCurrent = views.hashIndex[depKey];
    // the dependency's lineage, when its current result is still the one this result used
    const lineage =
      !seen.has(depKey) && depCurrent && depCurrent.resultHash === resultHash
        ? auditLineage(views, name, date, seen)
        : null;
    const producedBy =
      (views.decisions[depKey]?.history ?? [])
        .filter((d) => d.status === 'completed' && !d.dryRun && d.resultHash === resultHash)
        .at(-1)?.runId ?? null;
    const replaced = !depCurrent || depCurrent.resultHash !== resultHash;
    return { name, resultHash: resultHash ?? null, producedBy, replaced, lineage };
  });
  return {
    computation,
    date,
    runId: current?.runId ?? null,
    completedAt: current?.completedAt ?? null,
    resultHash: current?.resultHash ?? null,
    compositeHash: current?.compositeHash ?? null,
    valid: current?.valid ?? false,
    ...(current?.taint ? { taint: current.taint } : {}),
    hashParts: current?.hashParts ?? null,
    exported: views.decisions[key]?.exported ?? null,
    decisions,
    dependencies: deps,
  };
}
