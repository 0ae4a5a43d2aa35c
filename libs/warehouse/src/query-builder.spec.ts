import { UnknownColumnError, UnknownTableError } from './errors';
import { select } from './query-builder';
import { createSchemaRegistry } from './schema-registry';
import type { ColumnInfo } from './warehouse.port';

const TABLES: Record<string, ColumnInfo[]> = {
  orders: [
    { name: 'user_id', type: 'VARCHAR' },
    { name: 'order_date', type: 'DATE' },
    { name: 'amount', type: 'DECIMAL(18,2)' },
    { name: 'we"ird', type: 'INTEGER' },
  ],
  events: [
    { name: 'account', type: 'BIGINT' },
    { name: 'at', type: 'TIMESTAMP' },
  ],
};
const registry = createSchemaRegistry(
  async (t) => TABLES[t] ?? null,
  async () => Object.keys(TABLES),
);

describe('query builder', () => {
  it('quotes identifiers and binds every value as a parameter', async () => {
    const evil = "x'); DROP TABLE orders; --";
    const q = await select(registry, 'orders')
      .columns(['user_id', 'we"ird'])
      .whereEq('user_id', evil)
      .whereBetween('amount', 1, 2)
      .whereIn('user_id', ['a', evil], 'params')
      .whereDateBetween('order_date', '2024-01-01', '2024-01-07')
      .orderBy('order_date')
      .build();
    expect(q.sql).toBe(
      'SELECT "user_id", "we""ird" FROM "orders" WHERE "user_id" = $1 AND "amount" BETWEEN $2 AND $3' +
        ' AND "user_id" IN ($4, $5) AND "order_date" BETWEEN CAST($6 AS DATE) AND CAST($7 AS DATE) ORDER BY "order_date"',
    );
    expect(q.params).toEqual([evil, 1, 2, 'a', evil, '2024-01-01', '2024-01-07']);
    expect(q.sql).not.toContain('DROP');
  });

  it('compares non-text ids as text, windows timestamps by day, and by default unnests one list parameter', async () => {
    const q = await select(registry, 'events')
      .whereIn('account', ['1', '2'])
      .whereDateLte('at', '2024-01-07')
      .build();
    expect(q.sql).toBe(
      'SELECT * FROM "events" WHERE CAST("account" AS VARCHAR) IN (SELECT unnest(CAST($1 AS VARCHAR[])))' +
        ' AND CAST("at" AS DATE) <= CAST($2 AS DATE)',
    );
    expect(q.params).toEqual([['1', '2'], '2024-01-07']);
  });

  it('builds the distinct-text and fingerprint projections', async () => {
    expect(
      (await select(registry, 'events').distinctText('account').orderBy('account').build()).sql,
    ).toBe('SELECT DISTINCT CAST("account" AS VARCHAR) AS "account" FROM "events" ORDER BY 1');
    expect((await select(registry, 'events').fingerprint().build()).sql).toBe(
      'SELECT count(*) AS row_count, coalesce(sum(hash("account", "at")::HUGEINT), 0) AS digest FROM "events"',
    );
  });

  it('orders by the given columns, then by every other column of the table in schema order', async () => {
    const q = await select(registry, 'orders')
      .orderBy('order_date')
      .orderBy('user_id')
      .thenByEveryOtherColumn()
      .build();
    expect(q.sql).toBe(
      'SELECT * FROM "orders" ORDER BY "order_date", "user_id", "amount", "we""ird"',
    );
  });

  it('orders on an optional column only when the table has it, and never refuses it', async () => {
    const has = await select(registry, 'orders')
      .orderBy('order_date')
      .orderByIfPresent('user_id')
      .thenByEveryOtherColumn()
      .build();
    expect(has.sql).toBe(
      'SELECT * FROM "orders" ORDER BY "order_date", "user_id", "amount", "we""ird"',
    );
    const hasNot = await select(registry, 'orders')
      .orderBy('order_date')
      .orderByIfPresent('account_id')
      .thenByEveryOtherColumn()
      .build();
    expect(hasNot.sql).toBe(
      'SELECT * FROM "orders" ORDER BY "order_date", "user_id", "amount", "we""ird"',
    );
  });

  it('matches nothing for an empty id list', async () => {
    expect((await select(registry, 'orders').whereIn('user_id', []).build()).sql).toBe(
      'SELECT * FROM "orders" WHERE FALSE',
    );
  });

  it('validates the table and every named column before producing SQL', async () => {
    await expect(select(registry, 'order').build()).rejects.toThrow(UnknownTableError);
    await expect(select(registry, 'orders').orderBy('amont').build()).rejects.toThrow(
      'table "orders" has no column "amont" (closest: amount)',
    );
    await expect(select(registry, 'orders').whereIn('usr_id', ['a']).build()).rejects.toThrow(
      UnknownColumnError,
    );
    await expect(
      select(registry, 'orders').columns(['user_id', 'amount', 'nope']).build(),
    ).rejects.toMatchObject({
      code: 'unknown-column',
      details: { table: 'orders', column: 'nope' },
    });
  });
});
