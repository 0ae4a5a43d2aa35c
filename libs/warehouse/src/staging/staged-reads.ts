import type { ObjectStore } from '@almanac/storage';
import { ObjectNotFoundError } from '@almanac/storage';
import type { DateWindow, Row, TableSettings, Warehouse } from '../warehouse.port';

/**
 * Staged reads (ADR 0026, "Bytes are money"): a per-entity computation's table window is read
 * from the warehouse once per attempt, by the executor, and written to the object store as one
 * object per batch; each worker reads its batch's object. On BigQuery a query is billed for the
 * columns of every partition it touches whatever its entity filter, so reading the window once
 * per batch would bill it once per batch.
 */

/** The attempt whose inputs are staged. */
export interface StageKey {
  runId: string;
  computation: string;
  attempt: number;
}

/** What is read of one table: the same (table, settings, window) a worker would ask for. */
export interface TableRead {
  table: string;
  settings: TableSettings;
  window: DateWindow;
}

interface StagedBatch {
  table: string;
  settings: TableSettings;
  window: DateWindow;
  entityIds: string[];
  /** the rows of each entity, in the warehouse's order (every entity of the batch is a key) */
  rows: Record<string, Row[]>;
}

interface StageManifest {
  table: string;
  window: DateWindow;
  batches: number;
  rows: number;
}

const computationFolder = (key: Pick<StageKey, 'runId' | 'computation'>) =>
  `stage/${encodeURIComponent(key.runId)}/${encodeURIComponent(key.computation)}/`;

const folder = (key: StageKey, table: string) =>
  `${computationFolder(key)}${key.attempt}/${encodeURIComponent(table)}`;

/** Deletes every attempt's staged objects of a computation in a run; returns how many. */
export async function deleteStaged(
  store: ObjectStore,
  key: Pick<StageKey, 'runId' | 'computation'>,
): Promise<number> {
  const names = await store.list(computationFolder(key));
  await forEachLimited(names, 8, (name) => store.delete(name));
  return names.length;
}

const batchObject = (key: StageKey, table: string, batch: number) =>
  `${folder(key, table)}/batch-${batch}.json`;

const manifestObject = (key: StageKey, table: string) => `${folder(key, table)}/manifest.json`;

export interface StageReport {
  table: string;
  /** false: another replica (or an earlier delivery) had staged it already */
  staged: boolean;
  rows: number;
  batches: number;
}

/**
 * Reads the window of `read` once and writes one object per batch, then the manifest (written
 * last: an attempt whose manifest exists is staged whole, and is not read again).
 */
export async function stageTable(
  deps: { warehouse: Warehouse; store: ObjectStore },
  key: StageKey,
  read: TableRead,
  batches: Array<{ batch: number; entityIds: string[] }>,
  /** the window's rows from a read already made (Warehouse.readWindow); default: fetchWindow */
  source?: () => Promise<Row[]>,
): Promise<StageReport> {
  const manifest = await readJson<StageManifest>(deps.store, manifestObject(key, read.table));
  if (manifest)
    return { table: read.table, staged: false, rows: manifest.rows, batches: manifest.batches };
  // the rows are grouped by entity: a misspelt entity field must fail as fetchForEntities does,
  // not give every entity no rows
  await deps.warehouse.schemas.assertColumns(read.table, [read.settings.entityField]);
  const rows = source
    ? await source()
    : await deps.warehouse.fetchWindow(read.table, read.settings, read.window);
  const batchOf = new Map<string, number>();
  const grouped = batches.map((b, i) => {
    for (const id of b.entityIds) batchOf.set(id, i);
    return Object.fromEntries(b.entityIds.map((id): [string, Row[]] => [id, []]));
  });
  for (const row of rows) {
    const i = batchOf.get(String(row[read.settings.entityField]));
    if (i !== undefined) grouped[i][String(row[read.settings.entityField])].push(row);
  }
  await forEachLimited(batches, 8, async (b, i) => {
    const body: StagedBatch = { ...read, entityIds: b.entityIds, rows: grouped[i] };
    await deps.store.put(batchObject(key, read.table, b.batch), JSON.stringify(body), {
      contentType: 'application/json',
    });
  });
  const done: StageManifest = {
    table: read.table,
    window: read.window,
    batches: batches.length,
    rows: rows.length,
  };
  await deps.store.put(manifestObject(key, read.table), JSON.stringify(done), {
    contentType: 'application/json',
  });
  return { table: read.table, staged: true, rows: rows.length, batches: batches.length };
}

/**
 * A batch's rows of one table as `fetchForEntities` gives them, from the staged object; null when
 * nothing was staged for exactly this read and these entities (the caller reads the warehouse).
 */
export async function readStagedBatch(
  store: ObjectStore,
  key: StageKey & { batch: number },
  read: TableRead,
  entityIds: string[],
): Promise<Map<string, Row[]> | null> {
  const staged = await readJson<StagedBatch>(store, batchObject(key, read.table, key.batch));
  if (!staged) return null;
  const same =
    staged.settings.entityField === read.settings.entityField &&
    (staged.settings.dateField ?? null) === (read.settings.dateField ?? null) &&
    staged.window.from === read.window.from &&
    staged.window.to === read.window.to &&
    staged.entityIds.length === entityIds.length &&
    staged.entityIds.every((id, i) => id === entityIds[i]);
  if (!same) return null;
  return new Map(entityIds.map((id) => [id, staged.rows[id] ?? []]));
}

async function readJson<T>(store: ObjectStore, name: string): Promise<T | null> {
  try {
    return JSON.parse((await store.get(name)).toString('utf8')) as T;
  } catch (e) {
    if (e instanceof ObjectNotFoundError) return null;
    throw e;
  }
}

async function forEachLimited<T>(
  items: T[],
  limit: number,
  fn: (item: T, index: number) => Promise<void>,
): Promise<void> {
  let next = 0;
  const lane = async () => {
    while (next < items.length) {
      const i = next++;
      await fn(items[i], i);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, lane));
}
