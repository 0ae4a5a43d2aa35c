import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
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

resultStoreConformance('duckdb', async () => {
  const file = tempFile();
  const store = await createDuckDbResultStore({ path: file });
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
    await first.upsert('C', '2024-01-07', 'run-1', [
      { entityId: 'u1', result: { a: [1, 'x'] }, resultHash: 'h1' },
    ]);
    await first.close();
    const second = await createDuckDbResultStore({ path: file });
    expect((await second.read('C', '2024-01-07', ['u1'])).get('u1')).toEqual({ a: [1, 'x'] });
    expect(await second.hashes('C', '2024-01-07')).toEqual([['u1', 'h1']]);
    await second.close();
    const { DuckDBInstance } = await import('@duckdb/node-api');
    const db = await DuckDBInstance.create(file, { access_mode: 'READ_ONLY' });
    const c = await db.connect();
    const rows = (
      await c.runAndReadAll(
        `SELECT computation, CAST(date AS VARCHAR), entity_id, result, result_hash, run_id, CAST(written_at AS VARCHAR) FROM results`,
      )
    ).getRows();
    c.closeSync();
    db.closeSync();
    expect(rows).toEqual([
      ['C', '2024-01-07', 'u1', '{"a":[1,"x"]}', 'h1', 'run-1', '2024-01-08 02:00:00'],
    ]);
  });

  it('upserts 10 batches of 1,000 rows and re-upserts them without growing', async () => {
    const store = await createDuckDbResultStore({ path: tempFile() });
    const batch = (b: number, v: number) =>
      Array.from({ length: 1000 }, (_, i) => ({
        entityId: `e${b}-${i}`,
        result: { v, i },
        resultHash: `h${v}`,
      }));
    for (let b = 0; b < 10; b++) await store.upsert('C', '2024-01-07', 'run-1', batch(b, 1));
    for (let b = 0; b < 10; b++) await store.upsert('C', '2024-01-07', 'run-2', batch(b, 2));
    expect(await store.count('C', '2024-01-07')).toBe(10_000);
    expect(await store.prune('C', '2024-01-07', 'run-2')).toBe(0);
    expect((await store.read('C', '2024-01-07', ['e9-999'])).get('e9-999')).toEqual({
      v: 2,
      i: 999,
    });
    await store.close();
  });
});
