import type { Database, Instance } from '@google-cloud/spanner';
// the emulator harness lives in test/, which is not an Nx project (no alias to import it by)
import { startSpannerTestInstance, type SpannerTestInstance } from '@almanac/emulators';
import { resultStoreConformance } from '../conformance/result-store.conformance';
import type { ResultRow } from '../warehouse.port';
import { spannerResultsDdl, SPANNER_RESULTS_DDL } from './results.ddl';
import { createSpannerResultStore } from './spanner-result-store';

let emulator: SpannerTestInstance | undefined;
let instance: Instance;
let databases = 0;

beforeAll(async () => {
  emulator = await startSpannerTestInstance('results');
  ({ instance } = emulator);
});

afterAll(async () => {
  await emulator?.stop();
});

/** A new database per store: the emulator creates one in ~10 ms. */
async function freshDatabase(ddl: string[] = [...SPANNER_RESULTS_DDL]): Promise<Database> {
  const [database, op] = await instance.createDatabase(`r${++databases}`, { schema: ddl });
  await op.promise();
  return database;
}

resultStoreConformance('spanner', async ({ now }) => {
  const database = await freshDatabase();
  const store = createSpannerResultStore(database, { now });
  return {
    store,
    dispose: async () => {
      await store.close();
      await database.close();
    },
  };
});

const row = (entityId: string, result: unknown, resultHash = `h-${entityId}`): ResultRow => ({
  entityId,
  result,
  resultHash,
});

const D = '2024-01-07';

/**
 * The database with its read-write transactions counted and, optionally, something done right
 * after a query or a transaction: a hand-written stand-in to observe commits and to interleave a
 * concurrent write.
 */
function observed(
  database: Database,
  hooks: {
    afterQuery?: (sql: string) => Promise<void>;
    afterTransaction?: (n: number) => Promise<void>;
  } = {},
): { database: Database; transactions: () => number } {
  let transactions = 0;
  const proxy = new Proxy(database, {
    get(target, prop) {
      if (prop === 'runTransactionAsync')
        return async (fn: unknown) => {
          const n = ++transactions;
          const out = await target.runTransactionAsync(fn as never);
          await hooks.afterTransaction?.(n);
          return out;
        };
      if (prop === 'run' && hooks.afterQuery)
        return async (req: { sql: string }) => {
          const out = await target.run(req as never);
          await hooks.afterQuery?.(req.sql);
          return out;
        };
      const value = Reflect.get(target, prop, target) as unknown;
      return typeof value === 'function' ? value.bind(target) : value;
    },
  });
  return { database: proxy, transactions: () => transactions };
}

/** how many commits wrote the rows of a version (commit timestamps are distinct per commit) */
async function commits(database: Database, version: string): Promise<number> {
  const [rows] = await database.run({
    sql: 'SELECT COUNT(DISTINCT WrittenAt) AS n FROM ResultVersions WHERE Version = @version',
    params: { version },
    json: true,
  });
  return Number((rows as unknown as Array<{ n: number }>)[0].n);
}

describe('Spanner result store specifics', () => {
  let database: Database;
  afterEach(async () => {
    await database.close();
  });

  it('keeps the key order of results (a JSON column would sort the keys)', async () => {
    database = await freshDatabase();
    const store = createSpannerResultStore(database);
    await store.write('C', D, 'v1', 'run-1', [row('u1', { z: 1, a: { y: 2, b: 3 } })]);
    const got = (await store.read('C', D, 'v1', ['u1'])).get('u1');
    expect(JSON.stringify(got)).toBe('{"z":1,"a":{"y":2,"b":3}}');
  });

  it('splits large writes, copies and gcs into several commits and keeps every row', async () => {
    database = await freshDatabase();
    const counted = observed(database);
    const store = createSpannerResultStore(counted.database, {
      maxRowsPerCommit: 3,
      maxDeletesPerCommit: 4,
      maxIdsPerQuery: 5,
    });
    const ids = Array.from({ length: 11 }, (_, i) => `u${String(i).padStart(2, '0')}`);
    // u00 twice: the later row wins even though the first lands in another chunk otherwise
    await store.write('C', D, 'v1', 'run-1', [
      row('u00', 'old', 'h-old'),
      ...ids.map((id) => row(id, id)),
    ]);
    expect(counted.transactions()).toBe(4);
    expect(await commits(database, 'v1')).toBe(4);
    expect(await store.count('C', D, 'v1')).toBe(11);
    const read = await store.read('C', D, 'v1', [...ids, 'absent']);
    expect(read.size).toBe(11);
    expect(read.get('u00')).toBe('u00');
    expect((await store.hashes('C', D, 'v1'))[0]).toEqual(['u00', 'h-u00']);

    // 11 source rows in pages of 3: 4 transactions; u05 is in v2 already, u06 excepted
    await store.write('C', D, 'v2', 'run-2', [row('u05', 5)]);
    const before = counted.transactions();
    expect(await store.copyForward('C', D, 'v1', 'v2', ['u06'])).toBe(9);
    expect(counted.transactions() - before).toBe(4);
    expect(await store.count('C', D, 'v2')).toBe(10);
    expect((await store.read('C', D, 'v2', ['u05', 'u06', 'u10'])).get('u05')).toBe(5);

    // 11 rows through deletes of 4: 4 + 4 + 3 (fewer than 4: done)
    const beforeGc = counted.transactions();
    expect(await store.gc('C', D, ['v2'], Date.now() + 1_000)).toBe(1);
    expect(counted.transactions() - beforeGc).toBe(3);
    expect(await store.versions('C', D)).toMatchObject([{ version: 'v2', rows: 10 }]);
  });

  it('splits a write and a copy by bytes as well as by rows', async () => {
    database = await freshDatabase();
    const store = createSpannerResultStore(database, { maxBytesPerCommit: 10 });
    const big = 'x'.repeat(20); // each row alone exceeds the limit: one commit per row
    await store.write('C', D, 'v1', 'run-1', [row('a', big), row('b', big), row('c', 1)]);
    expect(await store.count('C', D, 'v1')).toBe(3);
    expect(await commits(database, 'v1')).toBe(3);
    expect((await store.read('C', D, 'v1', ['b'])).get('b')).toBe(big);
    expect(await store.copyForward('C', D, 'v1', 'v2', [])).toBe(3);
    expect(await commits(database, 'v2')).toBe(3);
    expect(await store.hashes('C', D, 'v2')).toEqual(await store.hashes('C', D, 'v1'));
  });

  it('stamps WrittenAt with the commit timestamp, or the clock when given, and keeps run ids', async () => {
    database = await freshDatabase();
    const store = createSpannerResultStore(database);
    const before = Date.now();
    await store.write('C', D, 'v7', 'run-7', [row('u1', 1)]);
    const clocked = createSpannerResultStore(database, { now: () => Date.UTC(2024, 0, 8, 2) });
    // a copied row keeps the run that computed it
    expect(await clocked.copyForward('C', D, 'v7', 'v8', [])).toBe(1);
    const [rows] = await database.run({
      sql: `SELECT Version, RunId, WrittenAt, CAST(Date AS STRING) AS D FROM ResultVersions
            ORDER BY Version`,
      json: true,
    });
    const [r7, r8] = rows as unknown as Array<{
      Version: string;
      RunId: string;
      WrittenAt: Date;
      D: string;
    }>;
    expect(r7).toMatchObject({ Version: 'v7', RunId: 'run-7', D: '2024-01-07' });
    expect(r7.WrittenAt.getTime()).toBeGreaterThanOrEqual(before - 1_000);
    expect(r7.WrittenAt.getTime()).toBeLessThanOrEqual(Date.now() + 1_000);
    expect(r8).toMatchObject({ Version: 'v8', RunId: 'run-7' });
    expect(r8.WrittenAt.getTime()).toBe(Date.UTC(2024, 0, 8, 2));
  });

  it('gc keeps a version written to after it was listed for deletion', async () => {
    database = await freshDatabase();
    const t0 = Date.UTC(2024, 0, 8, 2);
    const late = createSpannerResultStore(database, { now: () => t0 + 10_000 });
    let raced = false;
    const racing = observed(database, {
      afterQuery: async (sql) => {
        // right after gc listed the versions, another run writes to `old`
        if (raced || !sql.includes('GROUP BY Version')) return;
        raced = true;
        await late.write('C', D, 'old', 'run-late', [row('u9', 9)]);
      },
    });
    // one row per transaction: the late row is not in the first page
    const store = createSpannerResultStore(racing.database, {
      now: () => t0,
      maxDeletesPerCommit: 1,
    });
    await store.write('C', D, 'old', 'run-old', [row('u1', 1)]);
    expect(await store.gc('C', D, [], t0 + 1_000)).toBe(0);
    expect(raced).toBe(true);
    expect(await store.count('C', D, 'old')).toBe(2);
  });

  it('gc stops at a row written while it was deleting a version, and does not count it', async () => {
    database = await freshDatabase();
    const t0 = Date.UTC(2024, 0, 8, 2);
    const late = createSpannerResultStore(database, { now: () => t0 + 10_000 });
    let gcStarted = false;
    const racing = observed(database, {
      afterTransaction: async () => {
        if (!gcStarted) return;
        gcStarted = false;
        await late.write('C', D, 'old', 'run-late', [row('u3', 3)]);
      },
    });
    const store = createSpannerResultStore(racing.database, {
      now: () => t0,
      maxDeletesPerCommit: 1,
    });
    await store.write('C', D, 'old', 'run-old', [row('u1', 1), row('u2', 2)]);
    gcStarted = true; // the late write follows gc's first transaction (which deletes u1)
    expect(await store.gc('C', D, [], t0 + 1_000)).toBe(0);
    expect(await store.hashes('C', D, 'old')).toEqual([['u3', 'h-u3']]);
  });

  it('rejects an invalid date before touching Spanner', async () => {
    database = await freshDatabase();
    const store = createSpannerResultStore(database);
    await expect(
      store.write('C', '2024-02-30', 'v1', 'run-1', [row('u1', 1)]),
    ).rejects.toMatchObject({
      code: 'invalid-date',
      message: 'invalid date "2024-02-30" for date (expected YYYY-MM-DD)',
    });
    for (const call of [
      () => store.count('C', '2024-1-7', 'v1'),
      () => store.copyForward('C', '2024-1-7', 'v1', 'v2', []),
      () => store.versions('C', '2024-1-7'),
      () => store.gc('C', '2024-1-7', [], 0),
    ])
      await expect(call()).rejects.toMatchObject({ code: 'invalid-date' });
  });

  it('names the table and operation when Spanner refuses, and is not retryable then', async () => {
    database = await freshDatabase();
    const store = createSpannerResultStore(database, { table: 'Missing' });
    // a write: a failing *query* costs ~7 s in the client on the emulator (nodejs-spanner#2014)
    const err = await store.write('C', D, 'v1', 'run-1', [row('u1', 1)]).catch((e) => e);
    expect(err).toMatchObject({
      code: 'query-failed',
      retryable: false,
      grpcCode: 5,
      message: expect.stringContaining(
        'Spanner result store: write of 1 rows on table "Missing" failed: 5 NOT_FOUND: Table not found: Missing',
      ),
    });
  });

  it('keeps every write of concurrent writes, copies and gcs when writes are serialised', async () => {
    database = await freshDatabase();
    const store = createSpannerResultStore(database, { serializeWrites: true });
    await store.write('C', D, 'v0', 'run-0', [row('old', 0), row('gone', 0)]);
    await store.write('C', D, 'stale', 'run-s', [row('s', 0)]);
    const started = Date.now();
    const [gced, copied] = await Promise.all([
      store.gc('C', D, ['v0', 'v1'], Date.now() + 1_000), // removes stale only
      store.copyForward('C', D, 'v0', 'v1', ['gone']),
      ...Array.from({ length: 10 }, (_, b) =>
        store.write(
          'C',
          D,
          'v1',
          'run-1',
          Array.from({ length: 50 }, (_, i) => row(`b${b}-${i}`, i)),
        ),
      ),
    ]);
    const elapsed = Date.now() - started;
    expect(gced).toBe(1);
    expect(copied).toBe(1);
    expect(await store.count('C', D, 'v1')).toBe(501);
    expect((await store.versions('C', D)).map((v) => v.version)).toEqual(['v0', 'v1']);
    // queued, no ABORTED retries: far below the ~3 s of the unserialised conformance case
    expect(elapsed).toBeLessThan(1_500);
  });

  it('works on a table of another name created from spannerResultsDdl(name)', async () => {
    database = await freshDatabase(spannerResultsDdl('ResultsB'));
    const store = createSpannerResultStore(database, { table: 'ResultsB' });
    await store.write('C', D, 'v1', 'run-1', [row('u1', 1)]);
    expect(await store.count('C', D, 'v1')).toBe(1);
    expect(await store.copyForward('C', D, 'v1', 'v2', [])).toBe(1);
    expect(await store.gc('C', D, ['v2'], Date.now() + 1_000)).toBe(1);
    expect(await store.versions('C', D)).toMatchObject([{ version: 'v2', rows: 1 }]);
    await store.close();
    await expect(store.count('C', D, 'v1')).rejects.toMatchObject({
      message: expect.stringContaining('the store is closed'),
    });
  });
});
