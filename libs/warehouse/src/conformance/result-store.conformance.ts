import type { ResultRow, ResultStore } from '../warehouse.port';

/** A fresh, empty store, and how to dispose of it (close it and remove its files). */
export type ResultStoreFactory = () => Promise<{
  store: ResultStore;
  dispose: () => Promise<void>;
}>;

const row = (entityId: string, result: unknown, resultHash = `h-${entityId}`): ResultRow => ({
  entityId,
  result,
  resultHash,
});

/**
 * The ResultStore contract, run unchanged against every adapter (DuckDB here, Spanner later).
 * Uses jest globals; call it at the top level of a spec file.
 */
export function resultStoreConformance(name: string, factory: ResultStoreFactory): void {
  describe(`ResultStore conformance: ${name}`, () => {
    let store: ResultStore;
    let dispose: () => Promise<void>;

    beforeEach(async () => {
      ({ store, dispose } = await factory());
    });
    afterEach(async () => {
      await dispose();
    });

    it('round-trips results as JSON values', async () => {
      const nested = {
        total: 12.5,
        n: 3,
        tags: ['a', 'b'],
        nested: { ok: true, none: null },
        text: 'é"\'',
      };
      await store.upsert('C', '2024-01-07', 'run-1', [
        row('u1', nested),
        row('u2', 7),
        row('u3', 'text'),
        row('u4', [1, 2]),
      ]);
      const got = await store.read('C', '2024-01-07', ['u1', 'u2', 'u3', 'u4', 'missing']);
      expect(got.get('u1')).toEqual(nested);
      expect(got.get('u2')).toBe(7);
      expect(got.get('u3')).toBe('text');
      expect(got.get('u4')).toEqual([1, 2]);
      expect(got.has('missing')).toBe(false);
      expect(got.size).toBe(4);
    });

    it('upserts idempotently and replaces result, hash and run on the same key', async () => {
      const rows = [row('u1', { v: 1 }), row('u2', { v: 2 })];
      await store.upsert('C', '2024-01-07', 'run-1', rows);
      await store.upsert('C', '2024-01-07', 'run-1', rows);
      expect(await store.count('C', '2024-01-07')).toBe(2);
      await store.upsert('C', '2024-01-07', 'run-2', [row('u1', { v: 10 }, 'h-new')]);
      expect(await store.count('C', '2024-01-07')).toBe(2);
      expect((await store.read('C', '2024-01-07', ['u1'])).get('u1')).toEqual({ v: 10 });
      expect(await store.hashes('C', '2024-01-07')).toEqual([
        ['u1', 'h-new'],
        ['u2', 'h-u2'],
      ]);
      // u2 was written by run-1 only
      expect(await store.prune('C', '2024-01-07', 'run-2')).toBe(1);
      expect(await store.hashes('C', '2024-01-07')).toEqual([['u1', 'h-new']]);
    });

    it('keeps the last row when one upsert names an entity twice', async () => {
      await store.upsert('C', '2024-01-07', 'run-1', [row('u1', 1, 'h1'), row('u1', 2, 'h2')]);
      expect(await store.hashes('C', '2024-01-07')).toEqual([['u1', 'h2']]);
      expect((await store.read('C', '2024-01-07', ['u1'])).get('u1')).toBe(2);
    });

    it('lists hashes sorted by entity id', async () => {
      await store.upsert(
        'C',
        '2024-01-07',
        'run-1',
        ['b', 'u10', 'a', 'u9', '_global', 'B'].map((id) => row(id, id)),
      );
      expect((await store.hashes('C', '2024-01-07')).map(([id]) => id)).toEqual([
        'B',
        '_global',
        'a',
        'b',
        'u10',
        'u9',
      ]);
    });

    it('isolates computations and dates', async () => {
      await store.upsert('C', '2024-01-07', 'run-1', [row('u1', 1)]);
      await store.upsert('C', '2024-01-08', 'run-1', [row('u1', 2), row('u2', 2)]);
      await store.upsert('D', '2024-01-07', 'run-1', [row('u1', 3)]);
      expect(await store.count('C', '2024-01-07')).toBe(1);
      expect(await store.count('C', '2024-01-08')).toBe(2);
      expect(await store.count('D', '2024-01-07')).toBe(1);
      expect(await store.count('D', '2024-01-08')).toBe(0);
      expect((await store.read('D', '2024-01-07', ['u1'])).get('u1')).toBe(3);
      expect(await store.prune('C', '2024-01-08', 'run-other')).toBe(2);
      expect(await store.count('C', '2024-01-07')).toBe(1);
      expect(await store.count('D', '2024-01-07')).toBe(1);
    });

    it('deletes the named entities only', async () => {
      await store.upsert('C', '2024-01-07', 'run-1', [row('u1', 1), row('u2', 2), row('u3', 3)]);
      await store.delete('C', '2024-01-07', ['u1', 'u3', 'absent']);
      await store.delete('C', '2024-01-07', []);
      expect(await store.hashes('C', '2024-01-07')).toEqual([['u2', 'h-u2']]);
    });

    it('reads 1,000 entities at once and ignores empty requests', async () => {
      const ids = Array.from({ length: 1000 }, (_, i) => `u${i}`);
      await store.upsert(
        'C',
        '2024-01-07',
        'run-1',
        ids.map((id, i) => row(id, { i })),
      );
      await store.upsert('C', '2024-01-07', 'run-1', []);
      const got = await store.read('C', '2024-01-07', ids);
      expect(got.size).toBe(1000);
      expect(got.get('u999')).toEqual({ i: 999 });
      expect((await store.read('C', '2024-01-07', [])).size).toBe(0);
      expect(await store.count('C', '2024-01-07')).toBe(1000);
    });

    it('rejects a result that is not JSON-serialisable and stores nothing of that batch', async () => {
      await expect(
        store.upsert('C', '2024-01-07', 'run-1', [row('ok', 1), row('bad', { n: BigInt(1) })]),
      ).rejects.toMatchObject({
        code: 'result-not-serializable',
        message: expect.stringContaining('entity "bad"'),
      });
      expect(await store.count('C', '2024-01-07')).toBe(0);
    });

    it('keeps every write of concurrent upserts', async () => {
      await Promise.all(
        Array.from({ length: 10 }, (_, b) =>
          store.upsert(
            'C',
            '2024-01-07',
            'run-1',
            Array.from({ length: 50 }, (_, i) => row(`b${b}-${i}`, i)),
          ),
        ),
      );
      expect(await store.count('C', '2024-01-07')).toBe(500);
    });
  });
}
