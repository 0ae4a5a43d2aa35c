import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { BigQuery } from '@google-cloud/bigquery';
import { DuckDBInstance } from '@duckdb/node-api';
import { startBigQueryEmulator, type RunningHttpEmulator } from '@almanac/emulators';
import { loadDuckDbIntoBigQuery, UnmappableColumnError } from './bigquery-sample-load';

const PROJECT = 'almanac-test';

let emulator: RunningHttpEmulator | undefined;
let bigquery: BigQuery;
let dir: string;

async function duckDb(file: string, statements: string[]): Promise<string> {
  const path = join(dir, file);
  const db = await DuckDBInstance.create(path);
  const conn = await db.connect();
  for (const sql of statements) await conn.run(sql);
  conn.closeSync();
  db.closeSync();
  return path;
}

const count = async (dataset: string, table: string) => {
  const [rows] = await bigquery.query(
    `SELECT COUNT(*) AS n FROM \`${PROJECT}.${dataset}.${table}\``,
  );
  return Number((rows[0] as { n: number }).n);
};

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'almanac-sample-load-'));
  emulator = await startBigQueryEmulator();
  bigquery = new BigQuery({ projectId: PROJECT, apiEndpoint: emulator.endpoint });
}, 120_000);

afterAll(async () => {
  await emulator?.stop();
  rmSync(dir, { recursive: true, force: true });
});

jest.setTimeout(180_000);

describe('loadDuckDbIntoBigQuery (bqemulator)', () => {
  it('loads every table with mapped types, DAY partitions on dateField, clustering on entityField; a second load replaces the rows', async () => {
    const path = await duckDb('w.duckdb', [
      `CREATE TABLE trades (user_id VARCHAR, trade_date DATE, traded_at TIMESTAMP, price DOUBLE,
         qty INTEGER, volume BIGINT, fee DECIMAL(18,2), settled BOOLEAN)`,
      `INSERT INTO trades VALUES
         ('u1', DATE '2026-01-01', TIMESTAMP '2026-01-01 09:30:00.123456', 0.1::DOUBLE + 0.2::DOUBLE, 3, 9007199254740993, 1.25, true),
         ('u2', DATE '2026-01-02', TIMESTAMP '2026-01-02 16:00:00', 101.5, -1, 0, 0.10, false),
         ('u2', NULL, NULL, NULL, NULL, NULL, NULL, NULL)`,
      'CREATE TABLE symbols (symbol VARCHAR, name VARCHAR)',
      "INSERT INTO symbols VALUES ('AAPL', 'Apple'), ('MSFT', 'Microsoft')",
      'CREATE TABLE watchlist (user_id VARCHAR, symbol VARCHAR)',
    ]);
    const tables = {
      trades: { entityField: 'user_id', dateField: 'trade_date' },
      symbols: { entityField: 'symbol' },
    };
    const progress: string[] = [];
    const first = await loadDuckDbIntoBigQuery({
      duckDbPath: path,
      bigquery,
      dataset: 'sample1',
      tables,
      onTable: (t, n) => progress.push(`${t}:${n}`),
    });
    expect(first.tables).toEqual({ symbols: 2, trades: 3, watchlist: 0 });
    expect(progress.sort()).toEqual(['symbols:2', 'trades:3', 'watchlist:0']);

    const [meta] = await bigquery.dataset('sample1').table('trades').getMetadata();
    expect(
      (meta.schema.fields as Array<{ name: string; type: string }>).map((f) => [f.name, f.type]),
    ).toEqual([
      ['user_id', 'STRING'],
      ['trade_date', 'DATE'],
      ['traded_at', 'TIMESTAMP'],
      ['price', 'FLOAT64'],
      ['qty', 'INT64'],
      ['volume', 'INT64'],
      ['fee', 'NUMERIC'],
      ['settled', 'BOOL'],
    ]);
    expect(meta.timePartitioning).toMatchObject({ type: 'DAY', field: 'trade_date' });
    expect(meta.clustering).toEqual({ fields: ['user_id'] });
    const [symbolsMeta] = await bigquery.dataset('sample1').table('symbols').getMetadata();
    expect(symbolsMeta.timePartitioning).toBeUndefined();
    expect(symbolsMeta.clustering).toEqual({ fields: ['symbol'] });

    // values arrive exactly: the shortest double that reads back, INT64 beyond 2^53, NUMERIC
    const [rows] = await bigquery.query({
      query: `SELECT price, CAST(volume AS STRING) AS volume,
                fee, settled, CAST(traded_at AS STRING) AS traded_at
              FROM \`${PROJECT}.sample1.trades\` WHERE qty = 3`,
    });
    expect(rows[0]).toMatchObject({
      price: 0.1 + 0.2,
      volume: '9007199254740993',
      settled: true,
    });
    expect(String((rows[0] as { fee: unknown }).fee)).toBe('1.25');
    expect(String((rows[0] as { traded_at: string }).traded_at)).toContain(
      '2026-01-01 09:30:00.123456',
    );

    const second = await loadDuckDbIntoBigQuery({
      duckDbPath: path,
      bigquery,
      dataset: 'sample1',
      tables,
    });
    expect(second.tables).toEqual(first.tables);
    expect(await count('sample1', 'trades')).toBe(3);
    expect(await count('sample1', 'symbols')).toBe(2);
    // a table without rows, and without table settings: created, empty, neither partitioned nor
    // clustered
    expect(await count('sample1', 'watchlist')).toBe(0);
    const [watchlistMeta] = await bigquery.dataset('sample1').table('watchlist').getMetadata();
    expect(watchlistMeta.timePartitioning).toBeUndefined();
    expect(watchlistMeta.clustering).toBeUndefined();
  });

  it('fails naming the table and the column of a type it cannot map, before creating anything', async () => {
    const path = await duckDb('bad.duckdb', [
      'CREATE TABLE events (user_id VARCHAR, tags VARCHAR[])',
      "INSERT INTO events VALUES ('u1', ['a'])",
    ]);
    const load = loadDuckDbIntoBigQuery({
      duckDbPath: path,
      bigquery,
      dataset: 'sample_bad',
      tables: { events: { entityField: 'user_id' } },
    });
    await expect(load).rejects.toThrow(UnmappableColumnError);
    await expect(load).rejects.toThrow('table "events", column "tags": DuckDB type VARCHAR[]');
    expect((await bigquery.dataset('sample_bad').exists())[0]).toBe(false);
  });
});
