import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { DuckDBInstance } from '@duckdb/node-api';
import { resultStoreConformance } from './conformance/result-store.conformance';
import { createDuckDbResultStore } from './duckdb-result-store';

const dirs: string[] = [];
afterAll(() => {
  for (const d of dirs) fs.rmSync(d, { recursive: true, force: true });
});
function tempFile(): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'almanac-results-'));
  dirs.push(dir);
  return path.join(dir, 'results.duckdb');
}

/** runs raw SQL on a store's file while no store has it open */
async function raw(file: string, sql: string[]): Promise<unknown[][][]> {
  const db = await DuckDBInstance.create(file);
  const c = await db.connect();
  try {
    const out: unknown[][][] = [];
    for (const s of sql) out.push((await c.runAndReadAll(s)).getRows());
    return out;
  } finally {
    c.closeSync();
    db.closeSync();
  }
}

resultStoreConformance('duckdb', async ({ now }) => {
  const file = tempFile();
  const store = await createDuckDbResultStore({ path: file, now });
  return {
    store,
    dispose: async () => {
      await store.close();
      fs.rmSync(path.dirname(file), { recursive: true, force: true });
    },
  };
});

describe('DuckDB result store', () => {
  it('keeps results across a reopen of its file, with written_at from the injected clock', async () => {
    const file = tempFile();
    const first = await createDuckDbResultStore({
      path: file,
      now: () => Date.UTC(2024, 0, 8, 2, 0, 0),
    });
    await first.write('C', '2024-01-07', 'v1', 'run-1', [
      { entityId: 'u1', result: { a: [1, 'x'] }, resultHash: 'h1' },
    ]);
    await first.close();
    const second = await createDuckDbResultStore({ path: file });
    expect((await second.read('C', '2024-01-07', 'v1', ['u1'])).get('u1')).toEqual({
      a: [1, 'x'],
    });
    expect(await second.hashes('C', '2024-01-07', 'v1')).toEqual([['u1', 'h1']]);
    await second.close();
    const [rows] = await raw(file, [
      `SELECT computation, CAST(date AS VARCHAR), version, entity_id, result, result_hash, run_id,
         CAST(written_at AS VARCHAR) FROM result_versions`,
    ]);
    expect(rows).toEqual([
      ['C', '2024-01-07', 'v1', 'u1', '{"a":[1,"x"]}', 'h1', 'run-1', '2024-01-08 02:00:00'],
    ]);
  });

  it('moves the rows of a file of the unversioned layout to version = their run id', async () => {
    const file = tempFile();
    // the table as the store created it before results had versions
    await raw(file, [
      `CREATE TABLE results (
        computation VARCHAR NOT NULL, date DATE NOT NULL, entity_id VARCHAR NOT NULL,
        result VARCHAR NOT NULL, result_hash VARCHAR NOT NULL, run_id VARCHAR NOT NULL,
        written_at TIMESTAMP NOT NULL, PRIMARY KEY (computation, date, entity_id))`,
      `INSERT INTO results VALUES
        ('C', DATE '2024-01-07', 'u1', '{"z":1,"a":2}', 'h1', 'run-1', TIMESTAMP '2024-01-08 02:00:00'),
        ('C', DATE '2024-01-07', 'u2', '7', 'h2', 'run-2', TIMESTAMP '2024-01-08 03:00:00'),
        ('D', DATE '2024-01-08', 'u1', '"x"', 'h3', 'run-1', TIMESTAMP '2024-01-09 02:00:00')`,
    ]);
    const store = await createDuckDbResultStore({ path: file });
    expect(await store.versions('C', '2024-01-07')).toEqual([
      { version: 'run-1', rows: 1, lastWrittenAt: Date.UTC(2024, 0, 8, 2) },
      { version: 'run-2', rows: 1, lastWrittenAt: Date.UTC(2024, 0, 8, 3) },
    ]);
    const u1 = (await store.read('C', '2024-01-07', 'run-1', ['u1', 'u2'])).get('u1');
    expect(JSON.stringify(u1)).toBe('{"z":1,"a":2}');
    expect(await store.hashes('C', '2024-01-07', 'run-2')).toEqual([['u2', 'h2']]);
    expect((await store.read('D', '2024-01-08', 'run-1', ['u1'])).get('u1')).toBe('x');
    await store.close();
    const [tables, runIds] = await raw(file, [
      `SELECT table_name FROM duckdb_tables() ORDER BY table_name`,
      `SELECT DISTINCT run_id FROM result_versions WHERE version = run_id ORDER BY run_id`,
    ]);
    expect(tables).toEqual([['result_versions']]);
    expect(runIds).toEqual([['run-1'], ['run-2']]);
    // a second open finds nothing to migrate and keeps the rows
    const again = await createDuckDbResultStore({ path: file });
    expect(await again.count('C', '2024-01-07', 'run-2')).toBe(1);
    await again.close();
  });

  it('leaves the old table in place when the migration fails', async () => {
    const file = tempFile();
    // a row the new table refuses (NULL result): the copy fails, so nothing may change
    await raw(file, [
      `CREATE TABLE results (computation VARCHAR, date DATE, entity_id VARCHAR, result VARCHAR,
        result_hash VARCHAR, run_id VARCHAR, written_at TIMESTAMP)`,
      `INSERT INTO results VALUES ('C', DATE '2024-01-07', 'u1', NULL, 'h1', 'run-1', TIMESTAMP '2024-01-08 02:00:00')`,
    ]);
    await expect(createDuckDbResultStore({ path: file })).rejects.toMatchObject({
      code: 'query-failed',
      message: expect.stringContaining('NOT NULL constraint failed: result_versions.result'),
    });
    const [tables, rows] = await raw(file, [
      `SELECT table_name FROM duckdb_tables() ORDER BY table_name`,
      `SELECT entity_id FROM results`,
    ]);
    expect(tables).toEqual([['results']]);
    expect(rows).toEqual([['u1']]);
  });

  it('writes 10 batches of 1,000 rows and rewrites them without growing', async () => {
    const store = await createDuckDbResultStore({ path: tempFile() });
    const batch = (b: number, v: number) =>
      Array.from({ length: 1000 }, (_, i) => ({
        entityId: `e${b}-${i}`,
        result: { v, i },
        resultHash: `h${v}`,
      }));
    for (let b = 0; b < 10; b++) await store.write('C', '2024-01-07', 'v1', 'run-1', batch(b, 1));
    for (let b = 0; b < 10; b++) await store.write('C', '2024-01-07', 'v1', 'run-1', batch(b, 2));
    expect(await store.count('C', '2024-01-07', 'v1')).toBe(10_000);
    expect((await store.read('C', '2024-01-07', 'v1', ['e9-999'])).get('e9-999')).toEqual({
      v: 2,
      i: 999,
    });
    // a restricted run: one batch recomputed, the rest carried over in one statement
    await store.write('C', '2024-01-07', 'v2', 'run-2', batch(0, 3));
    expect(await store.copyForward('C', '2024-01-07', 'v1', 'v2', [])).toBe(9_000);
    expect(await store.count('C', '2024-01-07', 'v2')).toBe(10_000);
    expect((await store.read('C', '2024-01-07', 'v2', ['e0-5'])).get('e0-5')).toEqual({
      v: 3,
      i: 5,
    });
    expect(await store.gc('C', '2024-01-07', ['v2'], Date.now() + 1_000)).toBe(1);
    expect(await store.count('C', '2024-01-07', 'v1')).toBe(0);
    await store.close();
  });
});
