import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { DuckDBInstance } from '@duckdb/node-api';
import { createFolderObjectStore, type ObjectStore } from '@almanac/storage';
import { createDuckDbWarehouse } from '../duckdb-warehouse';
import type { Warehouse } from '../warehouse.port';
import { readStagedBatch, stageTable, type TableRead } from './staged-reads';

const READ: TableRead = {
  table: 'orders',
  settings: { entityField: 'user_id', dateField: 'day' },
  window: { from: '2024-01-02', to: '2024-01-05' },
};
const KEY = { runId: 'run-1', computation: 'Spend', attempt: 1 };

describe('staged reads: one read of the window per attempt, one object per batch', () => {
  let dir: string;
  let warehouse: Warehouse;
  let store: ObjectStore;
  let windowReads: number;
  const ids = Array.from({ length: 30 }, (_, i) => `u${String(i).padStart(2, '0')}`);
  const batches = Array.from({ length: 10 }, (_, b) => ({
    batch: b,
    entityIds: ids.slice(b * 3, b * 3 + 3),
  }));

  beforeEach(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'almanac-stage-'));
    const file = path.join(dir, 'w.duckdb');
    const db = await DuckDBInstance.create(file);
    const c = await db.connect();
    await c.run(`CREATE TABLE orders AS
      SELECT 'u' || lpad(CAST(i % 32 AS VARCHAR), 2, '0') AS user_id,
             DATE '2024-01-01' + CAST(i % 7 AS INTEGER) AS day, i * 1.5 AS amount, 'n' || i AS note
      FROM range(400) t(i)`);
    c.closeSync();
    db.closeSync();
    const real = await createDuckDbWarehouse({ path: file });
    windowReads = 0;
    // counts the window reads, and reads the real warehouse
    warehouse = {
      ...real,
      fetchWindow: (...a) => (windowReads++, real.fetchWindow(...a)),
    };
    store = createFolderObjectStore(path.join(dir, 'objects'));
  });
  afterEach(async () => {
    await warehouse.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('given a 10-batch attempt, when its table is staged, then each batch reads exactly what fetchForEntities gives, after one window read', async () => {
    const report = await stageTable({ warehouse, store }, KEY, READ, batches);
    expect(report).toMatchObject({ staged: true, batches: 10 });
    expect(windowReads).toBe(1);
    for (const b of batches) {
      const staged = await readStagedBatch(store, { ...KEY, batch: b.batch }, READ, b.entityIds);
      const direct = await warehouse.fetchForEntities(
        READ.table,
        READ.settings,
        READ.window,
        b.entityIds,
      );
      expect(staged).toEqual(direct);
    }
    expect(report.rows).toBeGreaterThan(0);
  });

  it('given a staged attempt, when another replica stages it again, then the window is not read again', async () => {
    await stageTable({ warehouse, store }, KEY, READ, batches);
    const again = await stageTable({ warehouse, store }, KEY, READ, batches);
    expect(again).toMatchObject({ staged: false, batches: 10 });
    expect(windowReads).toBe(1);
  });

  it('given a misspelt entity field, then staging fails naming it, before reading the window', async () => {
    const bad = { ...READ, settings: { entityField: 'usr_id', dateField: 'day' } };
    await expect(stageTable({ warehouse, store }, KEY, bad, batches)).rejects.toThrow(
      'table "orders" has no column "usr_id" (closest: user_id)',
    );
    expect(windowReads).toBe(0);
    expect(await store.list('')).toEqual([]);
  });

  it('given a read that differs from what was staged, then nothing staged is used (the caller reads the warehouse)', async () => {
    await stageTable({ warehouse, store }, KEY, READ, batches);
    const b = batches[2];
    const at = (read: TableRead, entityIds = b.entityIds, key = { ...KEY, batch: 2 }) =>
      readStagedBatch(store, key, read, entityIds);
    expect(await at({ ...READ, window: { from: '2024-01-01', to: '2024-01-05' } })).toBeNull();
    expect(await at({ ...READ, settings: { entityField: 'user_id' } })).toBeNull();
    expect(await at(READ, b.entityIds.slice(1))).toBeNull();
    expect(await at(READ, b.entityIds, { ...KEY, attempt: 2, batch: 2 })).toBeNull();
    expect(await at(READ)).not.toBeNull();
  });
});
