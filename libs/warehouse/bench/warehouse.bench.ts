/**
 * Measures the choices made in this lib. Run: `npx tsx libs/warehouse/bench/warehouse.bench.ts`.
 * 1. fetchForEntities, 1000 ids on 1M rows: one parameter per id vs one unnested VARCHAR[].
 * 2. result store: 100 writes of 1,000 rows, then 100 rewrites of the same keys
 *    (appender + INSERT OR REPLACE) vs row-by-row prepared INSERT OR REPLACE; then a copy
 *    forward of the 100,000 rows into another version (one INSERT ... SELECT) and its gc.
 */
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { DuckDBInstance } from '@duckdb/node-api';
import { createDuckDbResultStore } from '../src/duckdb-result-store';
import { createDuckDbWarehouse } from '../src/duckdb-warehouse';
import type { InListStrategy } from '../src/query-builder';

const ms = (t: number) => `${(performance.now() - t).toFixed(0)} ms`;

async function benchFetch(dir: string): Promise<void> {
  const file = path.join(dir, 'source.duckdb');
  const db = await DuckDBInstance.create(file);
  const c = await db.connect();
  // 1M rows, 100k users, 30 days, stored in date order (as a daily load would write them)
  await c.run(`CREATE TABLE orders AS SELECT 'u' || (i % 100000) AS user_id,
    DATE '2024-01-01' + (i // 33334)::INTEGER AS order_date, (i % 1000)::DECIMAL(18,2) AS amount,
    i::BIGINT AS qty FROM range(1000000) t(i)`);
  c.closeSync();
  db.closeSync();
  const window = { from: '2024-01-24', to: '2024-01-30' };
  const settings = { entityField: 'user_id', dateField: 'order_date' };
  for (const strategy of ['params', 'unnest', 'params', 'unnest'] as InListStrategy[]) {
    const w = await createDuckDbWarehouse({ path: file, inListStrategy: strategy });
    const batches = Array.from({ length: 20 }, (_, b) =>
      Array.from({ length: 1000 }, (_, i) => `u${(b * 1000 + i) * 3}`),
    );
    await w.fetchForEntities('orders', settings, window, batches[0]); // warm the schema and statement caches
    let rows = 0;
    const t = performance.now();
    for (const ids of batches)
      for (const list of (await w.fetchForEntities('orders', settings, window, ids)).values())
        rows += list.length;
    console.log(
      `fetch ${strategy}: ${((performance.now() - t) / batches.length).toFixed(1)} ms/batch of 1000 ids (${rows / batches.length} rows/batch)`,
    );
    const t2 = performance.now();
    await Promise.all(batches.map((ids) => w.fetchForEntities('orders', settings, window, ids)));
    console.log(`fetch ${strategy}: 20 concurrent batches ${ms(t2)}`);
    await w.close();
  }
}

async function benchWrite(dir: string): Promise<void> {
  const rows = (b: number, v: number) =>
    Array.from({ length: 1000 }, (_, i) => ({
      entityId: `e${b}-${i}`,
      result: { v, total: i * 1.5, tags: ['a', 'b'] },
      resultHash: `hash-${v}-${i}`,
    }));
  const store = await createDuckDbResultStore({ path: path.join(dir, 'results.duckdb') });
  let t = performance.now();
  for (let b = 0; b < 100; b++) await store.write('C', '2024-01-07', 'v1', 'run-1', rows(b, 1));
  console.log(`write appender+merge: 100 x 1000 new rows ${ms(t)}`);
  t = performance.now();
  for (let b = 0; b < 100; b++) await store.write('C', '2024-01-07', 'v1', 'run-2', rows(b, 2));
  console.log(
    `write appender+merge: 100 x 1000 rewrites ${ms(t)} (count ${await store.count('C', '2024-01-07', 'v1')})`,
  );
  t = performance.now();
  const ids = rows(42, 0).map((r) => r.entityId);
  for (let k = 0; k < 10; k++) await store.read('C', '2024-01-07', 'v1', ids);
  console.log(`read 1000 entities: ${((performance.now() - t) / 10).toFixed(1)} ms`);
  await store.write('C', '2024-01-07', 'v2', 'run-3', rows(0, 3));
  t = performance.now();
  const copied = await store.copyForward('C', '2024-01-07', 'v1', 'v2', []);
  console.log(`copyForward of ${copied} rows: ${ms(t)}`);
  t = performance.now();
  const removed = await store.gc('C', '2024-01-07', ['v2'], Date.now() + 1_000);
  console.log(`gc of ${removed} version of 100,000 rows: ${ms(t)}`);
  await store.close();

  // the alternative: one prepared INSERT OR REPLACE per row, in a transaction per batch
  const db = await DuckDBInstance.create(path.join(dir, 'naive.duckdb'));
  const c = await db.connect();
  await c.run(`CREATE TABLE result_versions (computation VARCHAR, date DATE, version VARCHAR,
    entity_id VARCHAR, result VARCHAR, result_hash VARCHAR, run_id VARCHAR, written_at TIMESTAMP,
    PRIMARY KEY (computation, date, version, entity_id))`);
  const p = await c.prepare(
    `INSERT OR REPLACE INTO result_versions
     VALUES ($1, CAST($2 AS DATE), $3, $4, $5, $6, $7, now()::TIMESTAMP)`,
  );
  t = performance.now();
  for (let b = 0; b < 10; b++) {
    await c.run('BEGIN');
    for (const r of rows(b, 1)) {
      p.bind([
        'C',
        '2024-01-07',
        'v1',
        r.entityId,
        JSON.stringify(r.result),
        r.resultHash,
        'run-1',
      ]);
      await p.run();
    }
    await c.run('COMMIT');
  }
  console.log(`write row-by-row prepared: 10 x 1000 new rows ${ms(t)} (x10 for 100 batches)`);
  c.closeSync();
  db.closeSync();
}

async function main(): Promise<void> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'almanac-warehouse-bench-'));
  try {
    await benchFetch(dir);
    await benchWrite(dir);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

void main();
