import type { Envelope } from '@almanac/contracts';
import type { EventStore, StoredEvent } from '@almanac/eventlog';
import { hashKey, type Decision, type RunView } from '@almanac/domain/projections';
import type { Warehouse } from '@almanac/warehouse';
import { newRunId, runRequestedEvent } from '@almanac/platform';
import type { EventPublisher } from '@almanac/platform';
import type { LoadedProject } from '@almanac/platform';
import type { ProjectConfig } from '@almanac/platform';
import {
  analyze,
  describeReason,
  readRunEvents,
  explain,
  latestRunDate,
  statusRows,
  type AnalyzeRow,
  type ExplainReport,
  type ForceOptions,
  type StatusRow,
  type Views,
} from './queries';
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
}

/** A request the api cannot answer as asked; the controllers turn it into 400 or 404. */
export class ApiRequestError extends Error {
  constructor(
    readonly status: 400 | 404 | 409,
    message: string,
    readonly details?: unknown,
  ) {
    super(message);
    this.name = 'ApiRequestError';
  }
}

export interface RunFilters {
  status?: string[];
  /** run dates from..to, inclusive */
  from?: string;
  to?: string;
  /** runs whose plan included this computation */
  computation?: string;
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

const ACTIVE: ReadonlySet<string> = new Set(['requested', 'planned', 'running']);

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

  async requestRun(input: RunRequestInput): Promise<{ runId: string }> {
    this.checkTargets(input.targets);
    const now = this.backend.clock();
    const runId = newRunId(now);
    await this.backend.publisher.publish([runRequestedEvent(runId, now, input, 'api')]);
    return { runId };
  }

  async listRuns(filters: RunFilters): Promise<RunsPage> {
    if (filters.computation) this.checkTargets([filters.computation]);
    const after = filters.cursor ? decodeCursor(filters.cursor) : null;
    const now = this.backend.clock().getTime();
    const runs = Object.values((await this.views()).runs)
      .filter((r) => !filters.status?.length || filters.status.includes(r.status))
      .filter((r) => !filters.from || r.date >= filters.from)
      .filter((r) => !filters.to || r.date <= filters.to)
      .filter(
        (r) =>
          !filters.computation ||
          r.computations[filters.computation] !== undefined ||
          r.targets.includes(filters.computation),
      )
      .sort(newestFirst)
      .filter((r) => !after || newestFirst(r, after) > 0);
    const page = runs.slice(0, filters.limit);
    const more = runs.length > filters.limit;
    return {
      runs: page.map((r) => runSummary(r, now)),
      nextCursor: more ? encodeCursor(page[page.length - 1]) : null,
    };
  }

  async getRun(runId: string): Promise<RunView & { elapsedMs: number }> {
    const run = (await this.views()).runs[runId];
    if (!run) throw new ApiRequestError(404, `unknown run "${runId}"`);
    return { ...run, elapsedMs: elapsed(run, this.backend.clock().getTime()) };
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
    };
  }

  async analyze(date: string, targets: string[], force: ForceOptions): Promise<AnalyzeRow[]> {
    this.checkTargets(targets);
    const { project, config, warehouse } = this.backend;
    return analyze(project, config, warehouse, await this.views(), date, targets, force);
  }

  async explain(name: string, date: string): Promise<ExplainReport> {
    this.checkTargets([name]);
    const report = explain(await this.views(), name, date);
    if (!report)
      throw new ApiRequestError(404, `${name} has never run for ${date}`, { code: 'never-run' });
    return report;
  }

  /** Lineage of the current result, from a replay of the log (up to asOf when given). */
  async audit(name: string, date: string, asOf?: string): Promise<AuditNode> {
    this.checkTargets([name]);
    const views = await this.backend.projections.asOf(asOf ?? '9999-12-31T23:59:59.999Z');
    return auditLineage(views, name, date);
  }

  private async viewsAt(asOf?: string): Promise<Views> {
    return asOf ? this.backend.projections.asOf(asOf) : this.views();
  }

  /** unknown computation names are refused with the known ones */
  checkTargets(names: string[]): void {
    const known = this.backend.project.manifest.entries;
    const unknown = names.filter((n) => !known.has(n));
    if (unknown.length) {
      throw new ApiRequestError(
        404,
        `unknown computation${unknown.length > 1 ? 's' : ''} ${unknown.map((n) => `"${n}"`).join(', ')}; known: ${[...known.keys()].join(', ')}`,
      );
    }
  }
}

function newestFirst(a: RunView, b: RunView): number {
  if (a.requestedAt !== b.requestedAt) return a.requestedAt < b.requestedAt ? 1 : -1;
  return a.runId < b.runId ? 1 : a.runId > b.runId ? -1 : 0;
}

function encodeCursor(r: RunView): string {
  return Buffer.from(JSON.stringify([r.requestedAt, r.runId])).toString('base64url');
}

function decodeCursor(cursor: string): RunView {
  try {
    const [requestedAt, runId] = JSON.parse(Buffer.from(cursor, 'base64url').toString()) as [
      unknown,
      unknown,
    ];
    if (typeof requestedAt !== 'string' || typeof runId !== 'string') throw new Error('shape');
    return { requestedAt, runId } as RunView;
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
  for (const c of Object.values(run.computations)) {
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
    hashParts: current?.hashParts ?? null,
    decisions,
    dependencies: deps,
  };
}
