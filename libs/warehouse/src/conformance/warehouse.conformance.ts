import { UnknownColumnError, UnknownTableError } from '../errors';
import type { ColumnInfo, Warehouse } from '../warehouse.port';

/** A column's type, named once for every adapter (each maps it to its own SQL type). */
export type FixtureColumnKind =
  'text' | 'date' | 'timestamp' | 'int32' | 'int64' | 'decimal' | 'double';

/** A fixture value: text for dates, timestamps, decimals and int64 (beyond 2^53), or null. */
export type FixtureValue = string | number | null;

export interface FixtureTable {
  name: string;
  columns: Array<[name: string, kind: FixtureColumnKind]>;
  /** the column the table is partitioned on where the warehouse partitions (DATE or TIMESTAMP) */
  partitionColumn?: string;
  rows: FixtureValue[][];
}

interface QueryEvent {
  kind: 'schema' | 'data' | 'dry-run';
  sql: string;
}

/** The fixture tables in one adapter's warehouse, and how to change them between reads. */
export interface WarehouseFixture {
  /** a warehouse over the fixture's tables; the fixture closes it in `dispose` if the test did not */
  open(opts?: { onQuery?: (event: QueryEvent) => void }): Promise<Warehouse>;
  insert(table: string, rows: FixtureValue[][]): Promise<void>;
  /** sets `set` on the rows whose columns equal `where` */
  update(
    table: string,
    set: Record<string, FixtureValue>,
    where: Record<string, FixtureValue>,
  ): Promise<void>;
  dispose(): Promise<void>;
}

export interface WarehouseConformanceOptions {
  /** loads `tables` into a fresh place (a DuckDB file, a BigQuery dataset) */
  load: (tables: FixtureTable[]) => Promise<WarehouseFixture>;
  /** how the adapter's catalog names the types of orders' first three columns */
  ordersTypes: [string, string, string];
  /** the rejection of a call on a closed warehouse (it names the warehouse) */
  closedError: RegExp;
  /** batches fetched at once (default 100; an emulator answers slower) */
  concurrentBatches?: number;
}

const WEEK = { from: '2024-01-01', to: '2024-01-07' };
const ORDERS = { entityField: 'user_id', dateField: 'order_date' };

/** The tables every adapter is checked on (the same data; each adapter its own types). */
const WAREHOUSE_FIXTURE: FixtureTable[] = [
  {
    name: 'orders',
    columns: [
      ['user_id', 'text'],
      ['order_date', 'date'],
      ['amount', 'decimal'],
      ['qty', 'int64'],
      ['price', 'double'],
      ['created_at', 'timestamp'],
      ['note', 'text'],
    ],
    partitionColumn: 'order_date',
    rows: [
      ['u1', '2024-01-01', '10.50', '1', 1.5, '2024-01-01 09:30:00', 'first'],
      ['u1', '2024-01-07', '20.25', '2', 2.5, '2024-01-07 23:59:59.123', null],
      ['u2', '2024-01-03', '5.00', '9007199254740993', 3.5, '2024-01-03 00:00:00', 'x'],
      ['u3', '2023-12-31', '99.00', '4', 4.5, '2023-12-31 12:00:00', 'before'],
      ['u3', '2024-01-08', '98.00', '5', 5.5, '2024-01-08 12:00:00', 'after'],
    ],
  },
  {
    name: 'users',
    columns: [
      ['user_id', 'text'],
      ['country', 'text'],
    ],
    rows: [
      ['u1', 'FR'],
      ['u2', 'DE'],
      ['u9', 'IT'],
    ],
  },
  {
    name: 'events',
    columns: [
      ['account', 'int32'],
      ['at', 'timestamp'],
      ['kind', 'text'],
    ],
    partitionColumn: 'at',
    rows: [
      [1, '2024-01-07 23:00:00', 'late'],
      [1, '2024-01-08 00:00:00', 'next'],
      [2, '2024-01-01 00:00:00', 'first'],
      [10, '2024-01-02 00:00:00', 'ten'],
    ],
  },
  {
    name: 'texts',
    columns: [
      ['id', 'text'],
      ['day', 'text'],
      ['v', 'int32'],
    ],
    rows: [
      ['a', '2024-01-07T22:00:00Z', 1],
      ['a', '2024-01-08', 2],
    ],
  },
  {
    name: 'trades',
    columns: [
      ['id', 'int32'],
      ['user_id', 'text'],
      ['trade_date', 'date'],
      ['symbol', 'text'],
    ],
    partitionColumn: 'trade_date',
    rows: [
      [9, 'u1', '2024-01-03', 'A'],
      [2, 'u1', '2024-01-02', 'B'],
      [8, 'u2', '2024-01-02', 'A'],
      [2, 'u1', '2024-01-02', null],
      [3, 'u2', '2024-01-01', 'A'],
      [1, 'u1', '2024-01-02', 'C'],
      [2, 'u1', '2024-01-02', 'A'],
    ],
  },
  {
    name: 'dims',
    columns: [
      ['country', 'text'],
      ['user_id', 'text'],
    ],
    rows: [
      ['IT', 'u9'],
      ['FR', 'u1'],
      ['DE', 'u2'],
    ],
  },
];

/**
 * The Warehouse contract, run unchanged against every adapter (DuckDB, the BigQuery emulator).
 * Uses jest globals; call it at the top level of a spec file.
 */
export function warehouseConformance(name: string, opts: WarehouseConformanceOptions): void {
  describe(`Warehouse conformance: ${name}`, () => {
    let fx: WarehouseFixture;
    const batches = opts.concurrentBatches ?? 100;

    beforeEach(async () => {
      fx = await opts.load(WAREHOUSE_FIXTURE);
    });
    afterEach(async () => {
      await fx.dispose();
    });

    const recording = async (kind: 'schema' | 'data') => {
      const queries: string[] = [];
      const w = await fx.open({ onQuery: (q) => q.kind === kind && queries.push(q.sql) });
      return { w, queries };
    };

    it('fetches a batch in one query, grouped by entity, with plain JSON values', async () => {
      const { w, queries } = await recording('data');
      const got = await w.fetchForEntities('orders', ORDERS, WEEK, ['u1', 'u2', 'u3', 'nobody']);
      expect(queries).toHaveLength(1);
      expect([...got.keys()]).toEqual(['u1', 'u2', 'u3', 'nobody']);
      expect(got.get('u3')).toEqual([]);
      expect(got.get('nobody')).toEqual([]);
      expect(got.get('u1')).toEqual([
        {
          user_id: 'u1',
          order_date: '2024-01-01',
          amount: 10.5,
          qty: 1,
          price: 1.5,
          created_at: '2024-01-01T09:30:00.000Z',
          note: 'first',
        },
        {
          user_id: 'u1',
          order_date: '2024-01-07',
          amount: 20.25,
          qty: 2,
          price: 2.5,
          created_at: '2024-01-07T23:59:59.123Z',
          note: null,
        },
      ]);
      // beyond 2^53 an integer is its decimal text, exactly
      expect(got.get('u2')?.[0].qty).toBe('9007199254740993');
    });

    it('returns rows sorted by the date column, then the entity column, then every other column', async () => {
      const w = await fx.open();
      const trades = { entityField: 'user_id', dateField: 'trade_date' };
      const key = (r: Record<string, unknown>) =>
        `${r.trade_date} ${r.user_id} ${r.id} ${r.symbol}`;
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

    it(`runs one query per batch even when ${batches} batches are fetched concurrently`, async () => {
      const { w, queries } = await recording('data');
      const list = Array.from({ length: batches }, (_, i) => (i % 2 ? ['u1'] : ['u2', 'u3']));
      const results = await Promise.all(
        list.map((ids) => w.fetchForEntities('orders', ORDERS, WEEK, ids)),
      );
      expect(queries).toHaveLength(batches);
      expect(results.map((r) => [...r.values()].map((rows) => rows.length))).toEqual(
        list.map((_, i) => (i % 2 ? [2] : [1, 0])),
      );
    });

    it('applies no date filter to a table without a dateField, and honours a dateField override', async () => {
      const w = await fx.open();
      const users = await w.fetchForEntities('users', { entityField: 'user_id' }, WEEK, [
        'u9',
        'u1',
      ]);
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
      const w = await fx.open();
      const events = await w.fetchForEntities(
        'events',
        { entityField: 'account', dateField: 'at' },
        WEEK,
        ['1', '2', '3'],
      );
      expect(events.get('1')).toEqual([
        { account: 1, at: '2024-01-07T23:00:00.000Z', kind: 'late' },
      ]);
      expect(events.get('2')?.map((r) => r.kind)).toEqual(['first']);
      expect(events.get('3')).toEqual([]);
      const texts = await w.fetchWindow('texts', { entityField: 'id', dateField: 'day' }, WEEK);
      expect(texts).toEqual([{ id: 'a', day: '2024-01-07T22:00:00Z', v: 1 }]);
    });

    it('treats an injection-looking value as a value', async () => {
      const w = await fx.open();
      const evil = "u1') OR 1=1; DROP TABLE orders; --";
      const got = await w.fetchForEntities('orders', ORDERS, WEEK, [evil, "u1' OR '1'='1"]);
      expect([...got.values()].map((rows) => rows.length)).toEqual([0, 0]);
      expect((await w.fetchWindow('orders', ORDERS, WEEK)).length).toBe(3);
      // a value is never SQL: a quote in a text date only fails to match
      const texts = await w.fetchForEntities(
        'texts',
        { entityField: 'id', dateField: 'day' },
        WEEK,
        ["a' OR '1'='1"],
      );
      expect(texts.get("a' OR '1'='1")).toEqual([]);
      await expect(
        w.fetchWindow('orders', ORDERS, { from: "2024-01-01' OR '1'='1", to: '2024-01-07' }),
      ).rejects.toThrow(
        `invalid date "2024-01-01' OR '1'='1" for window.from (expected YYYY-MM-DD)`,
      );
      await expect(
        w.listEntities('orders', 'user_id', '2024-13-01', 'order_date'),
      ).rejects.toMatchObject({ code: 'invalid-date' });
    });

    it('rejects an unknown column in table settings before any data query runs', async () => {
      const { w, queries } = await recording('data');
      const err = await w
        .fetchForEntities('orders', { entityField: 'usr_id', dateField: 'order_date' }, WEEK, [
          'u1',
        ])
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
      await expect(
        w.fetchForEntities('orders', { entityField: 'usr_id' }, WEEK, []),
      ).rejects.toThrow('no column "usr_id"');
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
      const { w, queries } = await recording('schema');
      await Promise.all(Array.from({ length: 10 }, () => w.fetchWindow('orders', ORDERS, WEEK)));
      expect(queries).toHaveLength(1);
      const [user, date, amount] = opts.ordersTypes;
      expect((await w.schemas.getTable('orders')).columns.slice(0, 3)).toEqual<ColumnInfo[]>([
        { name: 'user_id', type: user },
        { name: 'order_date', type: date },
        { name: 'amount', type: amount },
      ]);
    });

    it('lists sorted distinct entity ids as strings, as of a date', async () => {
      const w = await fx.open();
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
      expect(await w.listEntities('events', 'account', '2024-01-31', 'at')).toEqual([
        '1',
        '10',
        '2',
      ]);
    });

    it('fingerprints the window: content changes, duplicates and late rows change it, rows outside do not', async () => {
      const fp = async () => {
        const w = await fx.open();
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

      await fx.insert('orders', [
        ['u3', '2024-01-08', '1', '1', 1, '2024-01-08 00:00:00', 'outside'],
      ]);
      expect(await fp()).toEqual(base);

      await fx.update('orders', { amount: '5.01' }, { user_id: 'u2' });
      const changed = await fp();
      expect(changed.rowCount).toBe(3);
      expect(changed.digest).not.toBe(base.digest);

      await fx.insert('orders', [
        ['u2', '2024-01-03', '5.01', '9007199254740993', 3.5, '2024-01-03 00:00:00', 'x'],
      ]);
      const duplicated = await fp();
      expect(duplicated.rowCount).toBe(4);
      expect(duplicated.digest).not.toBe(changed.digest);

      await fx.insert('orders', [['u9', '2024-01-04', '1', '1', 1, '2024-01-04 00:00:00', 'late']]);
      const late = await fp();
      expect(late.rowCount).toBe(5);
      expect(late.digest).not.toBe(duplicated.digest);
    });

    it('fingerprints an empty window and a table without a date', async () => {
      const w = await fx.open();
      expect(
        await w.fingerprint('orders', ORDERS, { from: '2020-01-01', to: '2020-01-02' }),
      ).toEqual({ rowCount: 0, digest: '0:0' });
      const users = await w.fingerprint('users', { entityField: 'user_id' }, WEEK);
      expect(users.rowCount).toBe(3);
    });

    it('fingerprints many windows with one query, each as fingerprint() gives it (DATE, TIMESTAMP and text dates, empty windows, no date)', async () => {
      const { w, queries } = await recording('data');
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
      const { w, queries } = await recording('data');
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
        const one = await Promise.all(
          dates.map((d) => w.listEntities(table, idField, d, dateField)),
        );
        expect(many.map((ids) => [...ids].sort())).toEqual(one.map((ids) => [...ids].sort()));
      }
      expect(await w.listEntitiesByDate!('orders', 'user_id', dates, 'order_date')).toEqual([
        [],
        ['u3'],
        ['u1', 'u2', 'u3'],
        ['u1', 'u2', 'u3'],
        ['u1', 'u2', 'u3'],
      ]);
      await expect(
        w.listEntitiesByDate!('orders', 'user_id', ['2024-13-01']),
      ).rejects.toMatchObject({
        code: 'invalid-date',
      });
    });

    it('answers a ping while open, and rejects one naming the closed warehouse after close', async () => {
      const w = await fx.open();
      await expect(w.ping()).resolves.toBeUndefined();
      await w.close();
      await expect(w.close()).resolves.toBeUndefined();
      await expect(w.ping()).rejects.toThrow(opts.closedError);
      await expect(w.fetchWindow('orders', ORDERS, WEEK)).rejects.toThrow(opts.closedError);
    });
  });
}
