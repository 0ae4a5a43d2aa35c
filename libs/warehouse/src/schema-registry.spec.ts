import { closestNames } from './closest-names';
import { UnknownColumnError, UnknownTableError } from './errors';
import { createSchemaRegistry } from './schema-registry';
import type { ColumnInfo } from './warehouse.port';

const ORDERS: ColumnInfo[] = [
  'order_id',
  'user_id',
  'order_date',
  'amount',
  'account_id',
  'status',
].map((name) => ({
  name,
  type: 'VARCHAR',
}));

/** a catalog with a load counter: the registry is what is under test here */
function catalog() {
  const tables: Record<string, ColumnInfo[]> = {
    orders: ORDERS,
    users: [{ name: 'user_id', type: 'VARCHAR' }],
  };
  const calls: string[] = [];
  let release: () => void = () => undefined;
  const gate = new Promise<void>((r) => (release = r));
  return {
    calls,
    release,
    tables,
    gate,
    loadTable: async (table: string) => {
      calls.push(table);
      await gate;
      return tables[table] ?? null;
    },
    listTables: async () => Object.keys(tables),
  };
}

describe('schema registry', () => {
  it('coalesces 10 concurrent look-ups of one table into one load, and reloads after the TTL', async () => {
    const cat = catalog();
    let clock = 1_000;
    const registry = createSchemaRegistry(cat.loadTable, cat.listTables, {
      ttlMs: 60_000,
      now: () => clock,
    });
    const pending = Array.from({ length: 10 }, () => registry.getTable('orders'));
    cat.release();
    const schemas = await Promise.all(pending);
    expect(cat.calls).toEqual(['orders']);
    expect(schemas.every((s) => s === schemas[0])).toBe(true);
    expect(schemas[0].columns.map((c) => c.name)).toEqual([
      'order_id',
      'user_id',
      'order_date',
      'amount',
      'account_id',
      'status',
    ]);

    clock += 59_999;
    await registry.getTable('orders');
    expect(cat.calls).toEqual(['orders']);

    clock += 1;
    cat.tables.orders = [...ORDERS, { name: 'late_column', type: 'INTEGER' }];
    const reloaded = await Promise.all([registry.getTable('orders'), registry.getTable('orders')]);
    expect(cat.calls).toEqual(['orders', 'orders']);
    expect(reloaded[1].columns.at(-1)).toEqual({ name: 'late_column', type: 'INTEGER' });
  });

  it('defaults the TTL to one hour', async () => {
    const cat = catalog();
    cat.release();
    let clock = 0;
    const registry = createSchemaRegistry(cat.loadTable, cat.listTables, { now: () => clock });
    await registry.getTable('users');
    clock = 3_599_999;
    await registry.getTable('users');
    expect(cat.calls).toEqual(['users']);
    clock = 3_600_000;
    await registry.getTable('users');
    expect(cat.calls).toEqual(['users', 'users']);
  });

  it('invalidate() forces the next look-up to load again', async () => {
    const cat = catalog();
    cat.release();
    const registry = createSchemaRegistry(cat.loadTable, cat.listTables);
    await registry.getTable('users');
    registry.invalidate('users');
    await registry.getTable('users');
    await registry.getTable('orders');
    registry.invalidate();
    await registry.getTable('orders');
    expect(cat.calls).toEqual(['users', 'users', 'orders', 'orders']);
  });

  it('names the closest table of an unknown one, and does not cache the miss', async () => {
    const cat = catalog();
    cat.release();
    const registry = createSchemaRegistry(cat.loadTable, cat.listTables);
    const err = await registry.getTable('ordrs').catch((e: unknown) => e);
    expect(err).toBeInstanceOf(UnknownTableError);
    expect((err as UnknownTableError).message).toBe(
      'unknown table "ordrs" (did you mean "orders"?)',
    );
    expect((err as UnknownTableError).code).toBe('unknown-table');
    expect((err as UnknownTableError).details).toEqual({
      table: 'ordrs',
      column: undefined,
      candidates: ['orders', 'users'],
    });
    cat.tables.ordrs = ORDERS;
    await expect(registry.getTable('ordrs')).resolves.toMatchObject({ table: 'ordrs' });
  });

  it('names the table, the column and the closest columns of an unknown column', async () => {
    const cat = catalog();
    cat.release();
    const registry = createSchemaRegistry(cat.loadTable, cat.listTables);
    await expect(registry.assertColumns('orders', ['user_id', 'amount'])).resolves.toBeUndefined();
    const err = await registry
      .assertColumns('orders', ['user_id', 'ammount'])
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(UnknownColumnError);
    expect((err as UnknownColumnError).message).toBe(
      'table "orders" has no column "ammount" (closest: amount, account_id)',
    );
    expect((err as UnknownColumnError).code).toBe('unknown-column');
    expect((err as UnknownColumnError).details).toEqual({
      table: 'orders',
      column: 'ammount',
      candidates: ['amount', 'account_id'],
    });
    const far = await registry.assertColumns('users', ['zzzzzzzz']).catch((e: unknown) => e);
    expect((far as Error).message).toBe(
      'table "users" has no column "zzzzzzzz" (columns: user_id)',
    );
  });

  it('lets a failed load be retried', async () => {
    let fail = true;
    const registry = createSchemaRegistry(
      async () => {
        if (fail) throw new Error('catalog unavailable');
        return ORDERS;
      },
      async () => [],
    );
    await expect(registry.getTable('orders')).rejects.toThrow('catalog unavailable');
    fail = false;
    await expect(registry.getTable('orders')).resolves.toMatchObject({ table: 'orders' });
  });
});

describe('closestNames', () => {
  it('ranks by edit distance and drops unrelated names', () => {
    expect(closestNames('usr_id', ['user_id', 'order_id', 'amount', 'uid'])).toEqual([
      'user_id',
      'uid',
      'order_id',
    ]);
    expect(closestNames('amount', ['status', 'created_at'])).toEqual([]);
  });
});
