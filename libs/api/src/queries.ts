import { streams, type EntityFailure, type HashParts, type Reason } from '@almanac/contracts';
import { blockedBy, evaluateComputation, type RequiredInput } from '@almanac/domain/executor';
import {
  diffHashParts,
  forcedComputations,
  previousDate,
  selectComputations,
  type ComputationConfig,
} from '@almanac/kernel';
import {
  hashKey,
  ProjectionRunner,
  runProjection,
  type BackfillsView,
  type Decision,
  type DecisionsView,
  type HashIndex,
  type LogReader,
  type RecentRunsView,
  type RunView,
  fold,
} from '@almanac/domain/projections';
import type { StoredEvent } from '@almanac/eventlog';
import { billedBytes, priceOf, type Warehouse } from '@almanac/warehouse';
import { entitySetInput, readRequiredInputs, tableReads } from '@almanac/platform';
import type { LoadedProject } from '@almanac/platform';
import type { ProjectConfig } from '@almanac/platform';
import { apiProjectionSet } from './api-projections';

/** `runs` holds the runs still going and the last finished ones (ADR 0014), not every run. */
export type Views = {
  runs: RecentRunsView;
  decisions: DecisionsView;
  hashIndex: HashIndex;
  backfills: BackfillsView;
};

/** Folds the whole log into the views status, explain and analyze read. */
export async function readViews(log: LogReader): Promise<Views> {
  const runner = new ProjectionRunner<Views>(log, apiProjectionSet());
  await runner.catchUp();
  return runner.views;
}

/** A run's view: from the live views when they hold it, else folded from its own streams. */
export type RunLookup = (runId: string) => Promise<RunView | null>;

export interface StatusRow {
  computation: string;
  pass: number;
  type: 'global' | 'per-entity';
  date: string;
  status: string;
  reason: Reason | null;
  runId: string | null;
  at: string | null;
  resultHash: string | null;
  entities: number | null;
  failedEntities: string[];
  /** the first failed entities (by id, at most FAILURES_NAMED) with their error */
  failures: EntityFailure[];
  /**
   * the run of this date executing it now, if any (the newest, when several are); the fields
   * above stay the latest decision, which readers' results follow until this run completes it
   */
  inProgress: InProgress | null;
}

export interface InProgress {
  runId: string;
  status: 'pending' | 'running' | 'waiting';
  batchesDone: number;
  batchCount: number;
}

const ACTIVE_RUN: ReadonlySet<string> = new Set(['requested', 'planned', 'running']);

/** computation -> what the newest active run of `date` is doing with it */
function inProgressOf(views: Views, date: string): Map<string, InProgress> {
  const active = Object.values(views.runs.runs)
    .filter((r) => r.date === date && ACTIVE_RUN.has(r.status))
    .sort((a, b) => a.requestedAt.localeCompare(b.requestedAt));
  const found = new Map<string, InProgress>();
  for (const run of active)
    for (const c of Object.values(run.computations))
      if (c.status === 'pending' || c.status === 'running' || c.status === 'waiting')
        found.set(c.name, {
          runId: run.runId,
          status: c.status,
          batchesDone: Object.keys(c.batchesDone).length,
          batchCount: c.batchCount,
        });
  return found;
}

/** How many failed entities a status names. */
export const FAILURES_NAMED = 5;

/** The first `n` failures by entity id (ids sort by code unit, as everywhere else). */
function firstFailures(failures: EntityFailure[], n = FAILURES_NAMED): EntityFailure[] {
  return [...failures]
    .sort((a, b) => (a.entityId < b.entityId ? -1 : a.entityId > b.entityId ? 1 : 0))
    .slice(0, n);
}

/**
 * Every event of a run's streams (the run's, each computation's, each batch's) in log order: one
 * range read on the stream key, cheap whatever the size of the log.
 */
export async function readRunEvents(
  store: { readStreamsByPrefix(prefix: string): Promise<StoredEvent[]> },
  runId: string,
): Promise<StoredEvent[]> {
  const own = streams.run(runId);
  const events = await store.readStreamsByPrefix(own);
  // a plain prefix: run-<id> also matches run-<id>0...; keep the run's own streams
  return events.filter((e) => e.streamId === own || e.streamId.startsWith(`${own}-`));
}

/** One run's view, from its own streams only. */
export async function readRunView(
  store: { readStreamsByPrefix(prefix: string): Promise<StoredEvent[]> },
  runId: string,
): Promise<RunView | null> {
  return fold(runProjection, await readRunEvents(store, runId))[runId] ?? null;
}

/** The latest decision of each computation for a date. */
export function statusRows(project: LoadedProject, views: Views, date: string): StatusRow[] {
  const inProgress = inProgressOf(views, date);
  return [...project.planned.values()]
    .sort((a, b) => a.pass - b.pass || a.name.localeCompare(b.name))
    .map((c) => {
      const latest = views.decisions[hashKey(c.name, date)]?.latest;
      return {
        computation: c.name,
        pass: c.pass,
        type: c.type,
        date,
        status: latest?.status ?? 'never-run',
        reason: latest?.reason ?? null,
        runId: latest?.runId ?? null,
        at: latest?.at ?? null,
        resultHash: latest?.resultHash ?? null,
        entities: latest ? latest.entities.total : null,
        failedEntities: latest?.failedEntities.map((f) => f.entityId) ?? [],
        failures: firstFailures(latest?.failedEntities ?? []),
        inProgress: inProgress.get(c.name) ?? null,
      };
    });
}

/** The date of the most recent run, for commands called without --date. */
export function latestRunDate(views: Views): string | null {
  // the newest run is always kept: it is either still going or the newest finished one
  const runs = Object.values(views.runs.runs).sort((a, b) =>
    a.requestedAt.localeCompare(b.requestedAt),
  );
  return runs.at(-1)?.date ?? null;
}

export interface ExplainReport {
  computation: string;
  date: string;
  decision: Decision;
  /** the completed result the decision was compared with (the one before it) */
  previous: Decision | null;
  /** hash parts that differ between previous and this decision */
  changedParts: string[];
  /** code files added, removed or changed between the two runs */
  changedFiles: string[];
  hashParts: HashParts | null;
  /** the operator's invalidations of (computation, date), oldest first (ADR 0018) */
  invalidations?: Array<{
    invalidationId: string;
    reason: string;
    requestedBy: string;
    at: string;
  }>;
}

export async function explain(
  views: Views,
  computation: string,
  date: string,
  runOf: RunLookup,
): Promise<ExplainReport | null> {
  const entry = views.decisions[hashKey(computation, date)];
  if (!entry) return null;
  const decision = entry.latest;
  const previous = entry.previousCompleted;
  const hashParts = decision.hashParts;
  const changedParts =
    previous?.hashParts && hashParts ? diffHashParts(previous.hashParts, hashParts) : [];
  const filesOf = async (runId: string) =>
    (await runOf(runId))?.computations[computation]?.codeFiles ?? {};
  const filesNow = await filesOf(decision.runId);
  const filesBefore = previous ? await filesOf(previous.runId) : {};
  const changedFiles = previous
    ? [...new Set([...Object.keys(filesNow), ...Object.keys(filesBefore)])]
        .filter((f) => filesNow[f] !== filesBefore[f])
        .sort()
    : [];
  return { computation, date, decision, previous, changedParts, changedFiles, hashParts };
}

/** --force (the targets re-run) and --force-upstream (their dependencies too) */
export interface ForceOptions {
  force: boolean;
  forceUpstream: boolean;
}

export type Prediction = 'run' | 'skip' | 'blocked' | 'impossible' | 'maybe';

export interface AnalyzeRow {
  computation: string;
  pass: number;
  prediction: Prediction;
  why: string;
  /**
   * what its run would read where reads are billed (BigQuery, ADR 0026), when it would or may
   * run: one read of each table window (per-entity inputs are staged, so batches do not add any)
   */
  scan?: ScanEstimate;
}

export interface ScanEstimate {
  /** bytes the reads would process (BigQuery dry runs) */
  bytesProcessed: number;
  /** bytes billed: each read rounded up to a MiB, at least 10 MiB per table */
  bytesBilled: number;
  /** bytesBilled at warehouse.bigquery.pricePerTiB */
  cost: number;
  tables: Array<{ table: string; bytesProcessed: number }>;
}

/** The scan estimate of a computation's reads on `date`; null where reads are not billed. */
async function scanEstimate(
  warehouse: Warehouse,
  config: ProjectConfig,
  requires: ComputationConfig['requires'],
  date: string,
): Promise<ScanEstimate | null> {
  const estimate = warehouse.estimateScanBytes?.bind(warehouse);
  if (!estimate) return null;
  const tables = await Promise.all(
    tableReads(requires, config.tables, date).map(async (r) => ({
      table: r.table,
      bytesProcessed: await estimate(r.table, r.settings, r.window),
    })),
  );
  const bytesProcessed = tables.reduce((sum, t) => sum + t.bytesProcessed, 0);
  const bytesBilled = tables.reduce((sum, t) => sum + billedBytes(t.bytesProcessed), 0);
  const pricePerTiB = config.warehouse.bigquery?.pricePerTiB ?? DEFAULT_PRICE_PER_TIB;
  return { bytesProcessed, bytesBilled, cost: priceOf(bytesBilled, pricePerTiB), tables };
}

const DEFAULT_PRICE_PER_TIB = 6.25;

/**
 * What a run would do, without appending anything. A computation whose dependency would run is
 * `maybe`: it runs only if that dependency's results change (early cutoff).
 */
export async function analyze(
  project: LoadedProject,
  config: ProjectConfig,
  warehouse: Warehouse,
  views: Views,
  date: string,
  targets: string[] = [],
  force: ForceOptions = { force: false, forceUpstream: false },
): Promise<AnalyzeRow[]> {
  const names = selectComputations(project.manifest, targets);
  const forced = new Set(forcedComputations(names, targets, force));
  const predicted = new Map<string, Prediction>();
  const rows: AnalyzeRow[] = [];
  let entitySet: Promise<RequiredInput> | null = null;
  const entitySetOnce = () => {
    const { table, idField, dateField } = config.entities;
    return (entitySet ??= warehouse
      .listEntities(table, idField, date, dateField)
      .then((ids) => entitySetInput(ids, date)));
  };
  for (const name of names) {
    const entry = project.manifest.entries.get(name)!;
    const planned = project.planned.get(name)!;
    const deps = entry.config.dependencies.map((d) => ({
      name: d,
      status:
        predicted.get(d) === 'blocked' || predicted.get(d) === 'impossible'
          ? ('blocked' as const)
          : ('completed' as const),
      resultHash: views.hashIndex[hashKey(d, date)]?.resultHash ?? null,
    }));
    const blocked = blockedBy(deps);
    if (blocked) {
      predicted.set(name, 'blocked');
      const on = entry.config.dependencies.filter(
        (d) => predicted.get(d) === 'blocked' || predicted.get(d) === 'impossible',
      );
      rows.push({
        computation: name,
        pass: entry.pass,
        prediction: 'blocked',
        why: `depends on ${on.join(', ')}`,
      });
      continue;
    }
    const inputs = await readRequiredInputs(entry.config.requires, config.tables, date, (t, s, w) =>
      warehouse.fingerprint(t, s, w),
    );
    if (entry.config.type === 'per-entity') inputs.push(await entitySetOnce());
    const e = evaluateComputation({
      computation: name,
      codeHash: planned.codeHash,
      epoch: config.epoch,
      force: forced.has(name),
      scopedEntityIds: null,
      dependencies: deps,
      inputs,
      isHistorical: entry.config.isHistorical,
      previousResultHash: entry.config.isHistorical
        ? (views.hashIndex[hashKey(name, previousDate(date))]?.resultHash ?? null)
        : null,
      lastCompleted: views.hashIndex[hashKey(name, date)] ?? null,
    });
    const upstream = entry.config.dependencies.filter(
      (d) => predicted.get(d) === 'run' || predicted.get(d) === 'maybe',
    );
    let prediction: Prediction;
    let why: string;
    if (e.kind === 'impossible' && e.reason.code === 'mandatory-table-empty') {
      prediction = 'impossible';
      why = `mandatory table "${e.reason.table}" has no rows in ${e.reason.window.from}..${e.reason.window.to}`;
    } else if (e.kind === 'skipped') {
      prediction = upstream.length ? 'maybe' : 'skip';
      why = upstream.length
        ? `runs only if ${upstream.join(', ')} change their results`
        : 'nothing it depends on changed';
    } else {
      prediction = 'run';
      why = describeReason(e.reason);
    }
    predicted.set(name, prediction);
    const scan =
      prediction === 'run' || prediction === 'maybe'
        ? await scanEstimate(warehouse, config, entry.config.requires, date)
        : null;
    rows.push({ computation: name, pass: entry.pass, prediction, why, ...(scan && { scan }) });
  }
  return rows;
}

/**
 * One line saying why. For entity failures, `failures` (the first ones) are named with their
 * error: "7 of 8 entities failed: u1 (boom), ... and 2 more".
 */
export function describeReason(reason: Reason | null, failures: EntityFailure[] = []): string {
  if (!reason) return '';
  switch (reason.code) {
    case 'unchanged':
      return 'unchanged';
    case 'first-run':
      return 'first run';
    case 'changed':
      return `changed: ${reason.changed.join(', ')}`;
    case 'forced':
      return reason.changed.length ? `forced (changed: ${reason.changed.join(', ')})` : 'forced';
    case 'scoped':
      return `restricted to ${reason.entities} entit${reason.entities === 1 ? 'y' : 'ies'}`;
    case 'dependency-not-ready':
      return `blocked by ${reason.dependencies.map((d) => `${d.name} (${d.status})`).join(', ')}`;
    case 'mandatory-table-empty':
      return `mandatory table "${reason.table}" empty for ${reason.window.from}..${reason.window.to}`;
    case 'entity-failures': {
      const head = `${reason.failed} of ${reason.total} entities failed`;
      const named = firstFailures(failures);
      if (named.length === 0) return head;
      const more = reason.failed - named.length;
      return `${head}: ${named.map((f) => `${f.entityId} (${f.message.split('\n')[0]})`).join(', ')}${more > 0 ? ` and ${more} more` : ''}`;
    }
    case 'circuit-open':
    case 'timeout':
    case 'error':
      return reason.message;
    case 'delegated':
      return reason.status === 'completed' || reason.status === 'skipped'
        ? `result of run ${reason.runId}, which executed it meanwhile`
        : `run ${reason.runId}, which was executing it, ended ${reason.status}`;
    case 'abandoned':
      return `abandoned: ${reason.message}`;
  }
}
