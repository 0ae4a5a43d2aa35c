import type { Database, Transaction } from '@google-cloud/spanner';
import type { Envelope, HashParts } from '@almanac/contracts';
import {
  hashIndexProjection,
  hashKey,
  type HashIndex,
  type HashIndexEntry,
} from '@almanac/domain/projections';

const COMMIT_TIMESTAMP = 'spanner.commit_timestamp()';

/** One row of RunProgress: where a computation of a run stands, for its current attempt. */
export interface RunProgressRow {
  runId: string;
  computation: string;
  /** 'running' after ComputationStarted, then the ComputationCompleted status */
  status: string;
  attempt: number;
  batchCount: number;
  /** indexes of the batches done (without a batch error) for the current attempt, ascending */
  batchesDone: number[];
  processed: number;
  saved: number;
  failed: number;
  circuitOpen: boolean;
  resultHash: string | null;
}

export type RunProgressView = Record<string, RunProgressRow>;

const progressKey = (runId: string, computation: string) => `${runId}|${computation}`;

const RUN_PROGRESS_EVENTS = new Set([
  'ComputationStarted',
  'BatchDone',
  'CircuitOpened',
  'ComputationCompleted',
]);
const HASH_INDEX_EVENTS = new Set<string>(hashIndexProjection.handles);

const emptyProgress = (runId: string, computation: string): RunProgressRow => ({
  runId,
  computation,
  status: 'pending',
  attempt: 0,
  batchCount: 0,
  batchesDone: [],
  processed: 0,
  saved: 0,
  failed: 0,
  circuitOpen: false,
  resultHash: null,
});

/**
 * The run projection (libs/domain/projections run.projection) narrowed to one computation's progress.
 * Unlike that projection it creates the row on ComputationStarted/Completed: the inline table
 * does not hold RunPlanned.
 */
export function evolveRunProgress(view: RunProgressView, event: Envelope): RunProgressView {
  switch (event.type) {
    case 'ComputationStarted': {
      const p = event.payload;
      const key = progressKey(p.runId, p.computation);
      const row = view[key];
      if (row && p.attempt < row.attempt) return view;
      const next = !row || p.attempt > row.attempt ? emptyProgress(p.runId, p.computation) : row;
      next.circuitOpen = row?.circuitOpen ?? false;
      next.status = 'running';
      next.attempt = p.attempt;
      next.batchCount = p.batchCount;
      view[key] = next;
      return view;
    }
    case 'BatchDone': {
      const p = event.payload;
      const row = view[progressKey(p.runId, p.computation)];
      if (!row || p.attempt !== row.attempt || p.error !== undefined) return view;
      if (row.batchesDone.includes(p.batch)) return view;
      row.batchesDone = [...row.batchesDone, p.batch].sort((a, b) => a - b);
      row.processed += p.processed;
      row.saved += p.saved;
      row.failed += p.failures.length;
      return view;
    }
    case 'CircuitOpened': {
      const row = view[progressKey(event.payload.runId, event.payload.computation)];
      if (row) row.circuitOpen = true;
      return view;
    }
    case 'ComputationCompleted': {
      const p = event.payload;
      const key = progressKey(p.runId, p.computation);
      const row = (view[key] ??= emptyProgress(p.runId, p.computation));
      row.status = p.status;
      row.resultHash = p.resultHash;
      row.processed = p.entities.succeeded + p.entities.failed;
      row.saved = p.entities.saved;
      row.failed = p.entities.failed;
      return view;
    }
    default:
      return view;
  }
}

interface HashIndexRecord {
  Computation: string;
  Date: string;
  RunId: string;
  CompositeHash: string;
  HashParts: HashParts;
  ResultHash: string | null;
  Valid: boolean;
  CompletedAt: string;
}

interface RunProgressRecord {
  RunId: string;
  Computation: string;
  Status: string;
  Attempt: number;
  BatchCount: number;
  BatchesDone: number[];
  Processed: number;
  Saved: number;
  Failed: number;
  CircuitOpen: boolean;
  ResultHash: string | null;
}

const HASH_INDEX_COLUMNS = [
  'Computation',
  'Date',
  'RunId',
  'CompositeHash',
  'HashParts',
  'ResultHash',
  'Valid',
  'CompletedAt',
];
const RUN_PROGRESS_COLUMNS = [
  'RunId',
  'Computation',
  'Status',
  'Attempt',
  'BatchCount',
  'BatchesDone',
  'Processed',
  'Saved',
  'Failed',
  'CircuitOpen',
  'ResultHash',
];

const toHashEntry = (r: HashIndexRecord): HashIndexEntry => ({
  computation: r.Computation,
  date: r.Date,
  runId: r.RunId,
  compositeHash: r.CompositeHash,
  hashParts: r.HashParts,
  resultHash: r.ResultHash,
  completedAt: r.CompletedAt,
  valid: r.Valid,
});

const toProgress = (r: RunProgressRecord): RunProgressRow => ({
  runId: r.RunId,
  computation: r.Computation,
  status: r.Status,
  attempt: r.Attempt,
  batchCount: r.BatchCount,
  batchesDone: r.BatchesDone,
  processed: r.Processed,
  saved: r.Saved,
  failed: r.Failed,
  circuitOpen: r.CircuitOpen,
  resultHash: r.ResultHash,
});

/** Keys in a view whose value differs from the snapshot taken before folding. */
function changed<V>(before: Map<string, string>, view: Record<string, V>): V[] {
  return Object.entries(view)
    .filter(([key, value]) => before.get(key) !== JSON.stringify(value))
    .map(([, value]) => value);
}

const snapshot = (view: Record<string, unknown>) =>
  new Map(Object.entries(view).map(([k, v]) => [k, JSON.stringify(v)]));

/**
 * Folds the new events of an append into HashIndex and RunProgress inside its transaction:
 * reads the rows the events touch, evolves them in memory in event order (so several events on
 * one key inside a batch compose exactly as the projection would), buffers the changed rows.
 */
export async function applyInlineProjections(tx: Transaction, events: Envelope[]): Promise<void> {
  const hashEvents = events.filter((e) => HASH_INDEX_EVENTS.has(e.type));
  if (hashEvents.length > 0) {
    const keys = new Map<string, [string, string]>();
    for (const e of hashEvents) {
      const p = e.payload as { computation: string; date: string };
      keys.set(hashKey(p.computation, p.date), [p.computation, p.date]);
    }
    const [rows] = await tx.read('HashIndex', {
      keys: [...keys.values()],
      columns: HASH_INDEX_COLUMNS,
      json: true,
    });
    let view: HashIndex = {};
    for (const r of rows as unknown as HashIndexRecord[])
      view[hashKey(r.Computation, r.Date)] = toHashEntry(r);
    const before = snapshot(view);
    for (const e of hashEvents) view = hashIndexProjection.evolve(view, e);
    const updates = changed(before, view);
    if (updates.length > 0) {
      tx.upsert(
        'HashIndex',
        updates.map((h) => ({
          Computation: h.computation,
          Date: h.date,
          RunId: h.runId,
          CompositeHash: h.compositeHash,
          HashParts: h.hashParts,
          ResultHash: h.resultHash,
          Valid: h.valid,
          CompletedAt: h.completedAt,
          UpdatedAt: COMMIT_TIMESTAMP,
        })),
      );
    }
  }

  const progressEvents = events.filter((e) => RUN_PROGRESS_EVENTS.has(e.type));
  if (progressEvents.length > 0) {
    const keys = new Map<string, [string, string]>();
    for (const e of progressEvents) {
      const p = e.payload as { runId: string; computation: string };
      keys.set(progressKey(p.runId, p.computation), [p.runId, p.computation]);
    }
    const [rows] = await tx.read('RunProgress', {
      keys: [...keys.values()],
      columns: RUN_PROGRESS_COLUMNS,
      json: true,
    });
    let view: RunProgressView = {};
    for (const r of rows as unknown as RunProgressRecord[])
      view[progressKey(r.RunId, r.Computation)] = toProgress(r);
    const before = snapshot(view);
    for (const e of progressEvents) view = evolveRunProgress(view, e);
    const updates = changed(before, view);
    if (updates.length > 0) {
      tx.upsert(
        'RunProgress',
        updates.map((r) => ({
          RunId: r.runId,
          Computation: r.computation,
          Status: r.status,
          Attempt: r.attempt,
          BatchCount: r.batchCount,
          BatchesDone: r.batchesDone,
          Processed: r.processed,
          Saved: r.saved,
          Failed: r.failed,
          CircuitOpen: r.circuitOpen,
          ResultHash: r.resultHash,
          UpdatedAt: COMMIT_TIMESTAMP,
        })),
      );
    }
  }
}

/** The HashIndex entry of (computation, date), as the hash-index projection would hold it. */
export async function readHashIndexEntry(
  database: Database,
  computation: string,
  date: string,
): Promise<HashIndexEntry | null> {
  const [rows] = await database.table('HashIndex').read({
    keys: [[computation, date]],
    columns: HASH_INDEX_COLUMNS,
    json: true,
  });
  const row = rows[0] as unknown as HashIndexRecord | undefined;
  return row ? toHashEntry(row) : null;
}

/** Every computation's progress in a run, by computation name. */
export async function readRunProgress(
  database: Database,
  runId: string,
): Promise<RunProgressRow[]> {
  const [rows] = await database.run({
    sql: `SELECT ${RUN_PROGRESS_COLUMNS.join(', ')} FROM RunProgress
          WHERE RunId = @runId ORDER BY Computation`,
    params: { runId },
    json: true,
  });
  return (rows as unknown as RunProgressRecord[]).map(toProgress);
}
