import { spawnSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { DuckDBInstance } from '@duckdb/node-api';
import { createDuckDbWarehouse } from './duckdb-warehouse';
import type { DuckDbWarehouseOptions } from './duckdb-warehouse';
import { UnknownColumnError, UnknownTableError } from './errors';
import type { Warehouse } from './warehouse.port';

const WEEK = { from: '2024-01-01', to: '2024-01-07' };
const ORDERS = { entityField: 'user_id', dateField: 'order_date' };

const FIXTURE = `
CREATE TABLE orders (user_id VARCHAR, order_date DATE, amount DECIMAL(18,2), qty BIGINT, big HUGEINT,
  price DOUBLE, created_at TIMESTAMP, note VARCHAR);
INSERT INTO orders VALUES
  ('u1', '2024-01-01', 10.50, 1, 1, 1.5, '2024-01-01 09:30:00', 'first'),
  ('u1', '2024-01-07', 20.25, 2, 170141183460469231731687303715884105727, 2.5, '2024-01-07 23:59:59.123', NULL),
  ('u2', '2024-01-03', 5.00, 9007199254740993, 3, 3.5, '2024-01-03 00:00:00', 'x'),
  ('u3', '2023-12-31', 99.00, 4, 4, 4.5, '2023-12-31 12:00:00', 'before'),
  ('u3', '2024-01-08', 98.00, 5, 5, 5.5, '2024-01-08 12:00:00', 'after');
CREATE TABLE users (user_id VARCHAR, country VARCHAR);
INSERT INTO users VALUES ('u1', 'FR'), ('u2', 'DE'), ('u9', 'IT');
CREATE TABLE events (account INTEGER, "at" TIMESTAMP, kind VARCHAR);
INSERT INTO events VALUES (1, '2024-01-07 23:00:00', 'late'), (1, '2024-01-08 00:00:00', 'next'), (2, '2024-01-01 00:00:00', 'first'),
  (10, '2024-01-02 00:00:00', 'ten');
CREATE TABLE texts (id VARCHAR, day VARCHAR, v INTEGER);
INSERT INTO texts VALUES ('a', '2024-01-07T22:00:00Z', 1), ('a', '2024-01-08', 2);
`;

async function sql(file: string, text: string): Promise<void> {
  const db = await DuckDBInstance.create(file);
  const c = await db.connect();
  await c.run(text);
  c.closeSync();
  db.closeSync();
}

describe('DuckDB warehouse', () => {
  let dir: string;
  let file: string;
  const opened: Warehouse[] = [];
  const open = async (opts: Partial<DuckDbWarehouseOptions> = {}) => {
    const w = await createDuckDbWarehouse({ path: file, ...opts });
    opened.push(w);
    return w;
  };

  beforeEach(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'almanac-warehouse-'));
    file = path.join(dir, 'source.duckdb');
    await sql(file, FIXTURE);
  });
  afterEach(async () => {
    for (const w of opened.splice(0)) await w.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('fetches a batch in one query, grouped by entity, with plain JSON values', async () => {
    const queries: string[] = [];
    const w = await open({ onQuery: (q) => q.kind === 'data' && queries.push(q.sql) });
    const got = await w.fetchForEntities('orders', ORDERS, WEEK, ['u1', 'u2', 'u3', 'nobody']);
    expect(queries).toHaveLength(1);
    expect([...got.keys()]).toEqual(['u1', 'u2', 'u3', 'nobody']);
    expect(got.get('u3')).toEqual([]);
    expect(got.get('nobody')).toEqual([]);
    const u1 = [...(got.get('u1') ?? [])].sort((a, b) =>
      String(a.order_date).localeCompare(String(b.order_date)),
    );
    expect(u1).toEqual([
      {
        user_id: 'u1',
        order_date: '2024-01-01',
        amount: 10.5,
        qty: 1,
        big: 1,
        price: 1.5,
        created_at: '2024-01-01T09:30:00.000Z',
        note: 'first',
      },
      {
        user_id: 'u1',
        order_date: '2024-01-07',
        amount: 20.25,
        qty: 2,
        big: '170141183460469231731687303715884105727',
        price: 2.5,
        created_at: '2024-01-07T23:59:59.123Z',
        note: null,
      },
    ]);
    expect(got.get('u2')?.[0].qty).toBe('9007199254740993');
  });

  it('returns rows sorted by the date column, then the entity column, then every other column', async () => {
    await sql(
      file,
      `CREATE TABLE trades (id INTEGER, user_id VARCHAR, trade_date DATE, symbol VARCHAR);
       INSERT INTO trades VALUES (9, 'u1', '2024-01-03', 'A'), (2, 'u1', '2024-01-02', 'B'),
         (8, 'u2', '2024-01-02', 'A'), (2, 'u1', '2024-01-02', NULL), (3, 'u2', '2024-01-01', 'A'),
         (1, 'u1', '2024-01-02', 'C'), (2, 'u1', '2024-01-02', 'A');
       CREATE TABLE dims (country VARCHAR, user_id VARCHAR);
       INSERT INTO dims VALUES ('IT', 'u9'), ('FR', 'u1'), ('DE', 'u2');`,
    );
    const w = await open();
    const trades = { entityField: 'user_id', dateField: 'trade_date' };
    const key = (r: Record<string, unknown>) => `${r.trade_date} ${r.user_id} ${r.id} ${r.symbol}`;
    expect((await w.fetchWindow('trades', trades, WEEK)).map(key)).toEqual([
      '2024-01-01 u2 3 A',
      '2024-01-02 u1 1 C',
      '2024-01-02 u1 2 A',
      '2024-01-02 u1 2 B',
      '2024-01-02 u1 2 null',
      '2024-01-02 u2 8 A',
      '2024-01-03 u1 9 A',
    ]);
    const byEntity = await w.fetchForEntities('trades', trades, WEEK, ['u2', 'u1']);
    expect(byEntity.get('u1')!.map(key)).toEqual([
      '2024-01-02 u1 1 C',
      '2024-01-02 u1 2 A',
      '2024-01-02 u1 2 B',
      '2024-01-02 u1 2 null',
      '2024-01-03 u1 9 A',
    ]);
    expect(byEntity.get('u2')!.map(key)).toEqual(['2024-01-01 u2 3 A', '2024-01-02 u2 8 A']);
    // a table without a date: by the entity column, then the others
    expect(
      (await w.fetchWindow('dims', { entityField: 'user_id' }, WEEK)).map((r) => r.user_id),
    ).toEqual(['u1', 'u2', 'u9']);
  });

  it('runs one query per batch even when 100 batches are fetched concurrently', async () => {
    const queries: string[] = [];
    const w = await open({ onQuery: (q) => q.kind === 'data' && queries.push(q.sql) });
    const batches = Array.from({ length: 100 }, (_, i) => (i % 2 ? ['u1'] : ['u2', 'u3']));
    const results = await Promise.all(
      batches.map((ids) => w.fetchForEntities('orders', ORDERS, WEEK, ids)),
    );
    expect(queries).toHaveLength(100);
    expect(results.map((r) => [...r.values()].map((rows) => rows.length))).toEqual(
      batches.map((_, i) => (i % 2 ? [2] : [1, 0])),
    );
  });

  it('applies no date filter to a table without a dateField, and honours a dateField override', async () => {
    const w = await open();
    const users = await w.fetchForEntities('users', { entityField: 'user_id' }, WEEK, ['u9', 'u1']);
    expect(users.get('u9')).toEqual([{ user_id: 'u9', country: 'IT' }]);
    // per-requirement override: the window applies to created_at (a TIMESTAMP) instead of order_date
    const byCreated = await w.fetchWindow(
      'orders',
      { entityField: 'user_id', dateField: 'created_at' },
      { from: '2024-01-07', to: '2024-01-07' },
    );
    expect(byCreated.map((r) => r.amount)).toEqual([20.25]);
  });

  it('windows TIMESTAMP and ISO-text date fields by calendar day, and matches non-text entity ids as text', async () => {
    const w = await open();
    const events = await w.fetchForEntities(
      'events',
      { entityField: 'account', dateField: 'at' },
      WEEK,
      ['1', '2', '3'],
    );
    expect(events.get('1')).toEqual([{ account: 1, at: '2024-01-07T23:00:00.000Z', kind: 'late' }]);
    expect(events.get('2')?.map((r) => r.kind)).toEqual(['first']);
    expect(events.get('3')).toEqual([]);
    const texts = await w.fetchWindow('texts', { entityField: 'id', dateField: 'day' }, WEEK);
    expect(texts).toEqual([{ id: 'a', day: '2024-01-07T22:00:00Z', v: 1 }]);
  });

  it('treats an injection-looking value as a value', async () => {
    const w = await open();
    const evil = "u1') OR 1=1; DROP TABLE orders; --";
    const got = await w.fetchForEntities('orders', ORDERS, WEEK, [evil, "u1' OR '1'='1"]);
    expect([...got.values()].map((rows) => rows.length)).toEqual([0, 0]);
    expect((await w.fetchWindow('orders', ORDERS, WEEK)).length).toBe(3);
    // a value is never SQL: a quote in a text date only fails to match
    const texts = await w.fetchForEntities('texts', { entityField: 'id', dateField: 'day' }, WEEK, [
      "a' OR '1'='1",
    ]);
    expect(texts.get("a' OR '1'='1")).toEqual([]);
    await expect(
      w.fetchWindow('orders', ORDERS, { from: "2024-01-01' OR '1'='1", to: '2024-01-07' }),
    ).rejects.toThrow(`invalid date "2024-01-01' OR '1'='1" for window.from (expected YYYY-MM-DD)`);
    await expect(
      w.listEntities('orders', 'user_id', '2024-13-01', 'order_date'),
    ).rejects.toMatchObject({ code: 'invalid-date' });
  });

  it('rejects an unknown column in table settings before any data query runs', async () => {
    const queries: string[] = [];
    const w = await open({ onQuery: (q) => q.kind === 'data' && queries.push(q.sql) });
    const err = await w
      .fetchForEntities('orders', { entityField: 'usr_id', dateField: 'order_date' }, WEEK, ['u1'])
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(UnknownColumnError);
    expect((err as UnknownColumnError).message).toBe(
      'table "orders" has no column "usr_id" (closest: user_id)',
    );
    expect((err as UnknownColumnError).details).toEqual({
      table: 'orders',
      column: 'usr_id',
      candidates: ['user_id'],
    });
    await expect(
      w.fetchWindow('orders', { entityField: 'user_id', dateField: 'order_dt' }, WEEK),
    ).rejects.toThrow('table "orders" has no column "order_dt" (closest: order_date, user_id)');
    await expect(w.fetchForEntities('orders', { entityField: 'usr_id' }, WEEK, [])).rejects.toThrow(
      'no column "usr_id"',
    );
    await expect(w.listEntities('orders', 'user_id', '2024-01-07', 'dt')).rejects.toThrow(
      'no column "dt"',
    );
    await expect(w.fingerprint('ordrs', ORDERS, WEEK)).rejects.toThrow(UnknownTableError);
    await expect(w.fingerprint('ordrs', ORDERS, WEEK)).rejects.toThrow(
      'unknown table "ordrs" (did you mean "orders"?)',
    );
    expect(queries).toEqual([]);
  });

  it('caches schemas: one catalog look-up for many fetches', async () => {
    const schemaQueries: string[] = [];
    const w = await open({ onQuery: (q) => q.kind === 'schema' && schemaQueries.push(q.sql) });
    await Promise.all(Array.from({ length: 10 }, () => w.fetchWindow('orders', ORDERS, WEEK)));
    expect(schemaQueries).toHaveLength(1);
    expect((await w.schemas.getTable('orders')).columns.slice(0, 3)).toEqual([
      { name: 'user_id', type: 'VARCHAR' },
      { name: 'order_date', type: 'DATE' },
      { name: 'amount', type: 'DECIMAL(18,2)' },
    ]);
  });

  it('lists sorted distinct entity ids as strings, as of a date', async () => {
    const w = await open();
    expect(await w.listEntities('orders', 'user_id', '2024-01-02', 'order_date')).toEqual([
      'u1',
      'u3',
    ]);
    expect(await w.listEntities('orders', 'user_id', '2024-01-31', 'order_date')).toEqual([
      'u1',
      'u2',
      'u3',
    ]);
    expect(await w.listEntities('users', 'user_id', '2024-01-01')).toEqual(['u1', 'u2', 'u9']);
    expect(await w.listEntities('events', 'account', '2024-01-31', 'at')).toEqual(['1', '10', '2']);
  });

  it('fingerprints the window: content changes, duplicates and late rows change it, rows outside do not', async () => {
    const fp = async () => {
      const w = await createDuckDbWarehouse({ path: file });
      try {
        return await w.fingerprint('orders', ORDERS, WEEK);
      } finally {
        await w.close();
      }
    };
    const base = await fp();
    expect(base.rowCount).toBe(3);
    expect(base.digest).toMatch(/^3:-?\d+$/);
    expect(await fp()).toEqual(base);

    await sql(
      file,
      `INSERT INTO orders VALUES ('u3', '2024-01-08', 1, 1, 1, 1, '2024-01-08 00:00:00', 'outside')`,
    );
    expect(await fp()).toEqual(base);

    await sql(file, `UPDATE orders SET amount = 5.01 WHERE user_id = 'u2'`);
    const changed = await fp();
    expect(changed.rowCount).toBe(3);
    expect(changed.digest).not.toBe(base.digest);

    await sql(file, `INSERT INTO orders SELECT * FROM orders WHERE user_id = 'u2'`);
    const duplicated = await fp();
    expect(duplicated.rowCount).toBe(4);
    expect(duplicated.digest).not.toBe(changed.digest);

    await sql(
      file,
      `INSERT INTO orders VALUES ('u9', '2024-01-04', 1, 1, 1, 1, '2024-01-04 00:00:00', 'late')`,
    );
    const late = await fp();
    expect(late.rowCount).toBe(5);
    expect(late.digest).not.toBe(duplicated.digest);
  });

  it('fingerprints an empty window and a table without a date', async () => {
    const w = await open();
    expect(await w.fingerprint('orders', ORDERS, { from: '2020-01-01', to: '2020-01-02' })).toEqual(
      { rowCount: 0, digest: '0:0' },
    );
    const users = await w.fingerprint('users', { entityField: 'user_id' }, WEEK);
    expect(users.rowCount).toBe(3);
  });

  it('fingerprints many windows with one query, each as fingerprint() gives it (DATE, TIMESTAMP and text dates, empty windows, no date)', async () => {
    const queries: string[] = [];
    const w = await open({ onQuery: (q) => q.kind === 'data' && queries.push(q.sql) });
    const windows = [
      WEEK,
      { from: '2023-12-31', to: '2024-01-01' },
      { from: '2024-01-07', to: '2024-01-08' },
      { from: '2024-01-03', to: '2024-01-03' },
      { from: '2020-01-01', to: '2020-01-02' },
    ];
    const cases: Array<[string, { entityField: string; dateField?: string }]> = [
      ['orders', ORDERS],
      ['events', { entityField: 'account', dateField: 'at' }],
      ['texts', { entityField: 'id', dateField: 'day' }],
      ['users', { entityField: 'user_id' }],
    ];
    for (const [table, settings] of cases) {
      queries.length = 0;
      const many = await w.fingerprintWindows!(table, settings, windows);
      expect(queries).toHaveLength(1);
      const one = await Promise.all(windows.map((x) => w.fingerprint(table, settings, x)));
      expect(many).toEqual(one);
    }
    // the windows differ where their rows do
    const orders = await w.fingerprintWindows!('orders', ORDERS, windows);
    expect(orders.map((f) => f.rowCount)).toEqual([3, 2, 2, 1, 0]);
    expect(orders[4]).toEqual({ rowCount: 0, digest: '0:0' });
    expect(await w.fingerprintWindows!('orders', ORDERS, [])).toEqual([]);
    await expect(
      w.fingerprintWindows!('orders', ORDERS, [{ from: '2024-02-30', to: '2024-03-01' }]),
    ).rejects.toThrow('2024-02-30');
  });

  it('lists the entities as of many dates with one query, each as listEntities() gives it', async () => {
    const queries: string[] = [];
    const w = await open({ onQuery: (q) => q.kind === 'data' && queries.push(q.sql) });
    const dates = ['2023-12-30', '2023-12-31', '2024-01-03', '2024-01-07', '2024-01-31'];
    const cases: Array<[string, string, string | undefined]> = [
      ['orders', 'user_id', 'order_date'],
      ['events', 'account', 'at'],
      ['texts', 'id', 'day'],
      ['users', 'user_id', undefined],
    ];
    for (const [table, idField, dateField] of cases) {
      queries.length = 0;
      const many = await w.listEntitiesByDate!(table, idField, dates, dateField);
      expect(queries).toHaveLength(1);
      const one = await Promise.all(dates.map((d) => w.listEntities(table, idField, d, dateField)));
      expect(many.map((ids) => [...ids].sort())).toEqual(one.map((ids) => [...ids].sort()));
    }
    expect(await w.listEntitiesByDate!('orders', 'user_id', dates, 'order_date')).toEqual([
      [],
      ['u3'],
      ['u1', 'u2', 'u3'],
      ['u1', 'u2', 'u3'],
      ['u1', 'u2', 'u3'],
    ]);
    await expect(w.listEntitiesByDate!('orders', 'user_id', ['2024-13-01'])).rejects.toMatchObject({
      code: 'invalid-date',
    });
  });

  it('answers a ping while open, and rejects one naming the closed session after close', async () => {
    const w = await createDuckDbWarehouse({ path: file });
    await expect(w.ping()).resolves.toBeUndefined();
    await w.close();
    await expect(w.ping()).rejects.toThrow(/the DuckDB session is closed/);
  });

  it('opens the source read-only by default, several times at once', async () => {
    const a = await open();
    const b = await open();
    expect((await a.fetchWindow('users', { entityField: 'user_id' }, WEEK)).length).toBe(3);
    expect((await b.fetchWindow('users', { entityField: 'user_id' }, WEEK)).length).toBe(3);
    // file locks are per process: a writer in another process is refused while readers hold the file
    const writer = spawnSync(
      process.execPath,
      [
        '-e',
        `require('@duckdb/node-api').DuckDBInstance.create(${JSON.stringify(file)}).then(() => process.exit(0), (e) => { console.error(e.message); process.exit(3); })`,
      ],
      { cwd: path.resolve(__dirname, '../../..'), encoding: 'utf8' },
    );
    expect(writer.status).toBe(3);
    expect(writer.stderr).toMatch(/Conflicting lock is held/);
  });
});
