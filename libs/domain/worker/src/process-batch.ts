import {
  GLOBAL_ENTITY,
  PREVIOUS_RESULT,
  type EntityFailure,
  type ReadVersions,
} from '@almanac/contracts';
import {
  canonicalJson,
  previousDate,
  forEntity,
  sha256,
  windowFor,
  type Computation,
  type ComputationContext,
  type LogSink,
  type Row,
} from '@almanac/kernel';

export const DEFAULT_ENTITY_CONCURRENCY = 20;

/** What the worker needs to know about the computation it runs (from the manifest). */
export interface WorkerComputation {
  name: string;
  type: 'global' | 'per-entity';
  requires: Record<string, { lookback: number; mandatory: boolean; dateField?: string }>;
  dependencies: Array<{ name: string; type: 'global' | 'per-entity' }>;
  isHistorical: boolean;
  create(): Computation;
}

export interface TableSettingsLike {
  entityField: string;
  dateField?: string;
}

/** The reads and writes a batch needs; adapters (DuckDB, BigQuery, Spanner) satisfy it structurally. */
export interface WorkerPorts {
  tableSettings(table: string): TableSettingsLike;
  fetchForEntities(
    table: string,
    settings: TableSettingsLike,
    window: { from: string; to: string },
    entityIds: string[],
  ): Promise<Map<string, Row[]>>;
  fetchWindow(
    table: string,
    settings: TableSettingsLike,
    window: { from: string; to: string },
  ): Promise<Row[]>;
  readResults(
    computation: string,
    date: string,
    version: string,
    entityIds: string[],
  ): Promise<Map<string, unknown>>;
  writeResults(
    computation: string,
    date: string,
    version: string,
    runId: string,
    rows: Array<{ entityId: string; result: unknown; resultHash: string }>,
  ): Promise<void>;
}

export interface BatchInput {
  runId: string;
  date: string;
  entityIds: string[];
  dryRun: boolean;
  /** the version the results are written to (the run's own; nobody reads it until it completes) */
  resultVersion: string;
  /** the versions dependencies (and, with isHistorical, the previous date) are read from */
  readVersions: ReadVersions;
}

export interface BatchOutput {
  processed: number;
  saved: number;
  failures: EntityFailure[];
}

export interface WorkerOptions {
  concurrency?: number;
  config?: Record<string, unknown>;
  references?: Record<string, unknown>;
  rules?: Record<string, unknown>;
  log?: LogSink;
}

/**
 * Runs one batch: one query per table for the window, dependency results and previous results
 * prefetched in one read each, `process()` per entity with bounded concurrency, results written
 * idempotently. An entity whose process() throws or returns something that is not JSON is a
 * failure reported with its id; the others still count.
 */
export async function processBatch(
  comp: WorkerComputation,
  batch: BatchInput,
  ports: WorkerPorts,
  opts: WorkerOptions = {},
): Promise<BatchOutput> {
  const global = comp.type === 'global';
  const ids = global ? [GLOBAL_ENTITY] : batch.entityIds;

  const tables = Object.entries(comp.requires);
  // a dependency without a result version (it produced nothing readable) reads as no results
  const read = (name: string, date: string, version: string | null | undefined, ids: string[]) =>
    version
      ? ports.readResults(name, date, version, ids)
      : Promise.resolve(new Map<string, unknown>());
  const depIds = global ? [GLOBAL_ENTITY] : [...ids, GLOBAL_ENTITY];
  const [tableData, depResults, previous] = await Promise.all([
    Promise.all(
      tables.map(async ([table, req]) => {
        const base = ports.tableSettings(table);
        const settings = req.dateField ? { ...base, dateField: req.dateField } : base;
        const window = windowFor(batch.date, req.lookback);
        if (global) return [table, await ports.fetchWindow(table, settings, window)] as const;
        return [table, await ports.fetchForEntities(table, settings, window, ids)] as const;
      }),
    ),
    Promise.all(
      comp.dependencies.map(
        async (d) =>
          [d.name, await read(d.name, batch.date, batch.readVersions[d.name], depIds)] as const,
      ),
    ),
    comp.isHistorical
      ? read(comp.name, previousDate(batch.date), batch.readVersions[PREVIOUS_RESULT], ids)
      : Promise.resolve(null),
  ]);
  const deps = new Map(depResults);

  const instance = comp.create();
  const saved: Array<{ entityId: string; result: unknown; resultHash: string }> = [];
  const failures: EntityFailure[] = [];
  const config = Object.freeze({ ...(opts.config ?? {}) });
  const references = Object.freeze({ ...(opts.references ?? {}) });
  const rules = Object.freeze({ ...(opts.rules ?? {}) });
  const sink: LogSink = opts.log ?? (() => undefined);

  const runOne = async (entityId: string) => {
    const data: Record<string, Row[]> = {};
    for (const [table, rows] of tableData) {
      data[table] = Array.isArray(rows) ? rows : ((rows as Map<string, Row[]>).get(entityId) ?? []);
    }
    const ctx: ComputationContext = {
      date: batch.date,
      entityId,
      data,
      previousResult: previous?.get(entityId) ?? null,
      config,
      references,
      rules,
      getDependency<T>(name: string, entity?: string): T | null {
        const results = deps.get(name);
        if (!results) {
          throw new Error(
            `"${comp.name}" asked for "${name}", which is not among its dependencies`,
          );
        }
        return (results.get(entity ?? entityId) ?? null) as T | null;
      },
    };
    try {
      const result = await forEntity(instance, { computation: comp.name, entityId, sink }).process(
        ctx,
      );
      // null: nothing is saved (the version is the run's own, so no older result lingers)
      if (result === null || result === undefined) return;
      const json = canonicalJson(result);
      saved.push({ entityId, result, resultHash: sha256(json) });
    } catch (err) {
      failures.push({ entityId, message: err instanceof Error ? err.message : String(err) });
    }
  };

  await mapWithConcurrency(ids, opts.concurrency ?? DEFAULT_ENTITY_CONCURRENCY, runOne);

  if (!batch.dryRun && saved.length > 0)
    await ports.writeResults(comp.name, batch.date, batch.resultVersion, batch.runId, saved);
  failures.sort((a, b) => (a.entityId < b.entityId ? -1 : a.entityId > b.entityId ? 1 : 0));
  return { processed: ids.length, saved: batch.dryRun ? 0 : saved.length, failures };
}

/** Runs fn over items with at most `limit` promises pending; synchronous work stays cheap. */
export async function mapWithConcurrency<T>(
  items: readonly T[],
  limit: number,
  fn: (item: T) => Promise<void>,
): Promise<void> {
  let next = 0;
  const lane = async () => {
    while (next < items.length) await fn(items[next++]);
  };
  await Promise.all(Array.from({ length: Math.max(1, Math.min(limit, items.length)) }, lane));
}
