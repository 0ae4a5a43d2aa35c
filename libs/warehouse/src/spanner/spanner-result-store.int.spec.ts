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

resultStoreConformance('spanner', async () => {
  const database = await freshDatabase();
  const store = createSpannerResultStore(database);
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

describe('Spanner result store specifics', () => {
  let database: Database;
  afterEach(async () => {
    await database.close();
  });

  it('keeps the key order of results (a JSON column would sort the keys)', async () => {
    database = await freshDatabase();
    const store = createSpannerResultStore(database);
    await store.upsert('C', '2024-01-07', 'run-1', [row('u1', { z: 1, a: { y: 2, b: 3 } })]);
    const got = (await store.read('C', '2024-01-07', ['u1'])).get('u1');
    expect(JSON.stringify(got)).toBe('{"z":1,"a":{"y":2,"b":3}}');
  });

  it('splits large upserts and prunes into several commits and keeps every row', async () => {
    database = await freshDatabase();
    const store = createSpannerResultStore(database, {
      maxRowsPerCommit: 3,
      maxDeletesPerCommit: 4,
      maxIdsPerQuery: 5,
    });
    const ids = Array.from({ length: 11 }, (_, i) => `u${String(i).padStart(2, '0')}`);
    // u00 twice: the later row wins even though the first lands in another chunk otherwise
    await store.upsert('C', '2024-01-07', 'run-1', [
      row('u00', 'old', 'h-old'),
      ...ids.map((id) => row(id, id)),
    ]);
    expect(await store.count('C', '2024-01-07')).toBe(11);
    const read = await store.read('C', '2024-01-07', [...ids, 'absent']);
    expect(read.size).toBe(11);
    expect(read.get('u00')).toBe('u00');
    expect((await store.hashes('C', '2024-01-07'))[0]).toEqual(['u00', 'h-u00']);
    await store.upsert('C', '2024-01-07', 'run-2', [row('u05', 5)]);
    // 10 stale rows through deletes of 4: 4 + 4 + 2
    expect(await store.prune('C', '2024-01-07', 'run-2')).toBe(10);
    expect(await store.hashes('C', '2024-01-07')).toEqual([['u05', 'h-u05']]);
  });

  it('splits an upsert by bytes as well as by rows', async () => {
    database = await freshDatabase();
    const store = createSpannerResultStore(database, { maxBytesPerCommit: 10 });
    const big = 'x'.repeat(20); // each row alone exceeds the limit: one commit per row
    await store.upsert('C', '2024-01-07', 'run-1', [row('a', big), row('b', big), row('c', 1)]);
    expect(await store.count('C', '2024-01-07')).toBe(3);
    expect((await store.read('C', '2024-01-07', ['b'])).get('b')).toBe(big);
  });

  it('stamps WrittenAt with the commit timestamp and stores the run id', async () => {
    database = await freshDatabase();
    const store = createSpannerResultStore(database);
    const before = Date.now();
    await store.upsert('C', '2024-01-07', 'run-7', [row('u1', 1)]);
    const [rows] = await database.run({
      sql: 'SELECT RunId, WrittenAt, CAST(Date AS STRING) AS D FROM Results',
      json: true,
    });
    const [r] = rows as unknown as Array<{ RunId: string; WrittenAt: Date; D: string }>;
    expect(r.RunId).toBe('run-7');
    expect(r.D).toBe('2024-01-07');
    expect(r.WrittenAt.getTime()).toBeGreaterThanOrEqual(before - 1_000);
    expect(r.WrittenAt.getTime()).toBeLessThanOrEqual(Date.now() + 1_000);
  });

  it('rejects an invalid date before touching Spanner', async () => {
    database = await freshDatabase();
    const store = createSpannerResultStore(database);
    await expect(store.upsert('C', '2024-02-30', 'run-1', [row('u1', 1)])).rejects.toMatchObject({
      code: 'invalid-date',
      message: 'invalid date "2024-02-30" for date (expected YYYY-MM-DD)',
    });
    await expect(store.count('C', '2024-1-7')).rejects.toMatchObject({ code: 'invalid-date' });
  });

  it('names the table and operation when Spanner refuses, and is not retryable then', async () => {
    database = await freshDatabase();
    const store = createSpannerResultStore(database, { table: 'Missing' });
    // a write: a failing *query* costs ~7 s in the client on the emulator (nodejs-spanner#2014)
    const err = await store.upsert('C', '2024-01-07', 'run-1', [row('u1', 1)]).catch((e) => e);
    expect(err).toMatchObject({
      code: 'query-failed',
      retryable: false,
      grpcCode: 5,
      message: expect.stringContaining(
        'Spanner result store: upsert of 1 rows on table "Missing" failed: 5 NOT_FOUND: Table not found: Missing',
      ),
    });
  });

  it('keeps every write of concurrent upserts, deletes and prunes when writes are serialised', async () => {
    database = await freshDatabase();
    const store = createSpannerResultStore(database, { serializeWrites: true });
    await store.upsert('C', '2024-01-07', 'run-0', [row('old', 0), row('gone', 0)]);
    const started = Date.now();
    const [pruned] = await Promise.all([
      store.prune('C', '2024-01-07', 'run-1'), // queued first: removes old and gone
      ...Array.from({ length: 10 }, (_, b) =>
        store.upsert(
          'C',
          '2024-01-07',
          'run-1',
          Array.from({ length: 50 }, (_, i) => row(`b${b}-${i}`, i)),
        ),
      ),
      store.delete('C', '2024-01-07', ['b0-0']),
    ]);
    const elapsed = Date.now() - started;
    expect(pruned).toBe(2);
    expect(await store.count('C', '2024-01-07')).toBe(499);
    // queued, no ABORTED retries: far below the ~3 s of the unserialised conformance case
    expect(elapsed).toBeLessThan(1_500);
  });

  it('works on a table of another name created from spannerResultsDdl(name)', async () => {
    database = await freshDatabase(spannerResultsDdl('ResultsB'));
    const store = createSpannerResultStore(database, { table: 'ResultsB' });
    await store.upsert('C', '2024-01-07', 'run-1', [row('u1', 1)]);
    expect(await store.count('C', '2024-01-07')).toBe(1);
    await store.close();
    await expect(store.count('C', '2024-01-07')).rejects.toMatchObject({
      message: expect.stringContaining('the store is closed'),
    });
  });
});
