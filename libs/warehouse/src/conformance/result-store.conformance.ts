import type { ResultRow, ResultStore } from '../warehouse.port';

/**
 * A fresh, empty store, and how to dispose of it (close it and remove its files). `now` is the
 * clock the store must stamp its writes with (the last write of a version, compared by `gc`).
 */
export type ResultStoreFactory = (opts: { now: () => number }) => Promise<{
  store: ResultStore;
  dispose: () => Promise<void>;
}>;

const row = (entityId: string, result: unknown, resultHash = `h-${entityId}`): ResultRow => ({
  entityId,
  result,
  resultHash,
});

const D = '2024-01-07';

/**
 * The ResultStore contract, run unchanged against every adapter (DuckDB and the Spanner emulator).
 * Uses jest globals; call it at the top level of a spec file.
 */
export function resultStoreConformance(name: string, factory: ResultStoreFactory): void {
  describe(`ResultStore conformance: ${name}`, () => {
    let store: ResultStore;
    let dispose: () => Promise<void>;
    let time: number;

    beforeEach(async () => {
      time = Date.UTC(2024, 0, 8, 2, 0, 0);
      ({ store, dispose } = await factory({ now: () => time }));
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
      await store.write('C', D, 'v1', 'run-1', [
        row('u1', nested),
        row('u2', 7),
        row('u3', 'text'),
        row('u4', [1, 2]),
      ]);
      const got = await store.read('C', D, 'v1', ['u1', 'u2', 'u3', 'u4', 'missing']);
      expect(got.get('u1')).toEqual(nested);
      expect(got.get('u2')).toBe(7);
      expect(got.get('u3')).toBe('text');
      expect(got.get('u4')).toEqual([1, 2]);
      expect(got.has('missing')).toBe(false);
      expect(got.size).toBe(4);
    });

    it('writes idempotently and replaces result and hash on the same key of a version', async () => {
      const rows = [row('u1', { v: 1 }), row('u2', { v: 2 })];
      await store.write('C', D, 'v1', 'run-1', rows);
      await store.write('C', D, 'v1', 'run-1', rows);
      expect(await store.count('C', D, 'v1')).toBe(2);
      await store.write('C', D, 'v1', 'run-1', [row('u1', { v: 10 }, 'h-new')]);
      expect(await store.count('C', D, 'v1')).toBe(2);
      expect((await store.read('C', D, 'v1', ['u1'])).get('u1')).toEqual({ v: 10 });
      expect(await store.hashes('C', D, 'v1')).toEqual([
        ['u1', 'h-new'],
        ['u2', 'h-u2'],
      ]);
      expect((await store.versions('C', D)).map((v) => [v.version, v.rows])).toEqual([['v1', 2]]);
    });

    it('keeps the last row when one write names an entity twice', async () => {
      await store.write('C', D, 'v1', 'run-1', [row('u1', 1, 'h1'), row('u1', 2, 'h2')]);
      expect(await store.hashes('C', D, 'v1')).toEqual([['u1', 'h2']]);
      expect((await store.read('C', D, 'v1', ['u1'])).get('u1')).toBe(2);
    });

    it('lists hashes sorted by entity id', async () => {
      await store.write(
        'C',
        D,
        'v1',
        'run-1',
        ['b', 'u10', 'a', 'u9', '_global', 'B'].map((id) => row(id, id)),
      );
      expect((await store.hashes('C', D, 'v1')).map(([id]) => id)).toEqual([
        'B',
        '_global',
        'a',
        'b',
        'u10',
        'u9',
      ]);
    });

    it('isolates computations, dates and versions', async () => {
      await store.write('C', D, 'v1', 'run-1', [row('u1', 1)]);
      await store.write('C', '2024-01-08', 'v1', 'run-1', [row('u1', 2), row('u2', 2)]);
      await store.write('D', D, 'v1', 'run-1', [row('u1', 3)]);
      await store.write('C', D, 'v2', 'run-2', [row('u1', 4), row('u2', 4), row('u3', 4)]);
      expect(await store.count('C', D, 'v1')).toBe(1);
      expect(await store.count('C', '2024-01-08', 'v1')).toBe(2);
      expect(await store.count('D', D, 'v1')).toBe(1);
      expect(await store.count('D', '2024-01-08', 'v1')).toBe(0);
      expect(await store.count('C', D, 'v2')).toBe(3);
      expect((await store.read('D', D, 'v1', ['u1'])).get('u1')).toBe(3);
      expect((await store.read('C', D, 'v1', ['u1', 'u2'])).get('u1')).toBe(1);
      expect(await store.gc('C', '2024-01-08', [], time + 1)).toBe(1);
      expect(await store.count('C', '2024-01-08', 'v1')).toBe(0);
      expect(await store.count('C', D, 'v1')).toBe(1);
      expect(await store.count('C', D, 'v2')).toBe(3);
      expect(await store.count('D', D, 'v1')).toBe(1);
    });

    it('reads 1,000 entities at once and ignores empty requests', async () => {
      const ids = Array.from({ length: 1000 }, (_, i) => `u${i}`);
      await store.write(
        'C',
        D,
        'v1',
        'run-1',
        ids.map((id, i) => row(id, { i })),
      );
      await store.write('C', D, 'v1', 'run-1', []);
      await store.write('C', D, 'v2', 'run-2', []);
      const got = await store.read('C', D, 'v1', ids);
      expect(got.size).toBe(1000);
      expect(got.get('u999')).toEqual({ i: 999 });
      expect((await store.read('C', D, 'v1', [])).size).toBe(0);
      expect(await store.count('C', D, 'v1')).toBe(1000);
      expect((await store.versions('C', D)).map((v) => v.version)).toEqual(['v1']);
    });

    it('rejects a result that is not JSON-serialisable and stores nothing of that batch', async () => {
      await expect(
        store.write('C', D, 'v1', 'run-1', [row('ok', 1), row('bad', { n: BigInt(1) })]),
      ).rejects.toMatchObject({
        code: 'result-not-serializable',
        message: expect.stringContaining('entity "bad"'),
      });
      expect(await store.count('C', D, 'v1')).toBe(0);
      expect(await store.versions('C', D)).toEqual([]);
    });

    it('keeps every write of concurrent writes', async () => {
      await Promise.all(
        Array.from({ length: 10 }, (_, b) =>
          store.write(
            'C',
            D,
            'v1',
            'run-1',
            Array.from({ length: 50 }, (_, i) => row(`b${b}-${i}`, i)),
          ),
        ),
      );
      expect(await store.count('C', D, 'v1')).toBe(500);
    });

    it('two versions of one date written concurrently never see or delete each other', async () => {
      const batch = (v: string, b: number) =>
        Array.from({ length: 25 }, (_, i) => row(`u${b}-${i}`, { v, i }, `h-${v}-${b}-${i}`));
      await Promise.all(
        [0, 1, 2, 3].flatMap((b) => [
          store.write('C', D, 'va', 'run-a', batch('a', b)),
          store.write('C', D, 'vb', 'run-b', batch('b', b)),
        ]),
      );
      for (const v of ['a', 'b']) {
        const hashes = await store.hashes('C', D, `v${v}`);
        expect(hashes).toHaveLength(100);
        expect(hashes.filter(([, h]) => !h.startsWith(`h-${v}-`))).toEqual([]);
        expect((await store.read('C', D, `v${v}`, ['u3-24'])).get('u3-24')).toEqual({ v, i: 24 });
      }
      // run a, done, collects what is older than a grace period: run b's version is recent
      time += 1_000;
      expect(await store.gc('C', D, ['va'], time - 60_000)).toBe(0);
      expect(await store.count('C', D, 'vb')).toBe(100);
      expect(await store.count('C', D, 'va')).toBe(100);
    });

    it('a half-written version leaves another version fully readable', async () => {
      const before = ['u1', 'u2', 'u3'].map((id) => row(id, `old-${id}`, `h-old-${id}`));
      await store.write('C', D, 'v1', 'run-1', before);
      // run 2 wrote one row of its version, then its next batch failed and it died
      await store.write('C', D, 'v2', 'run-2', [row('u1', 'new-u1', 'h-new-u1')]);
      await expect(
        store.write('C', D, 'v2', 'run-2', [row('u2', 'new-u2'), row('u3', { n: BigInt(3) })]),
      ).rejects.toMatchObject({ code: 'result-not-serializable' });
      expect(await store.read('C', D, 'v1', ['u1', 'u2', 'u3'])).toEqual(
        new Map([
          ['u1', 'old-u1'],
          ['u2', 'old-u2'],
          ['u3', 'old-u3'],
        ]),
      );
      expect(await store.hashes('C', D, 'v1')).toEqual(
        before.map((r): [string, string] => [r.entityId, r.resultHash]),
      );
      expect(await store.hashes('C', D, 'v2')).toEqual([['u1', 'h-new-u1']]);
    });

    it('copies forward every row not excepted and not already in the target version', async () => {
      await store.write(
        'C',
        D,
        'v1',
        'run-1',
        ['u1', 'u2', 'u3', 'u4'].map((id) => row(id, `v1-${id}`)),
      );
      // the restricted run 2 recomputed u2 before copying the rest of v1 forward
      await store.write('C', D, 'v2', 'run-2', [row('u2', 'v2-u2', 'h2-u2')]);
      // the same version names elsewhere are not copied
      await store.write('C', '2024-01-08', 'v1', 'run-1', [row('u5', 5)]);
      await store.write('D', D, 'v1', 'run-1', [row('u6', 6)]);

      // u3: left out (e.g. it has no result any more); u2: already in v2
      expect(await store.copyForward('C', D, 'v1', 'v2', ['u3', 'absent'])).toBe(2);
      expect(await store.hashes('C', D, 'v2')).toEqual([
        ['u1', 'h-u1'],
        ['u2', 'h2-u2'],
        ['u4', 'h-u4'],
      ]);
      expect(await store.read('C', D, 'v2', ['u1', 'u2', 'u3', 'u4'])).toEqual(
        new Map([
          ['u1', 'v1-u1'],
          ['u2', 'v2-u2'],
          ['u4', 'v1-u4'],
        ]),
      );
      expect(await store.count('C', D, 'v1')).toBe(4);
      expect(await store.count('C', '2024-01-08', 'v2')).toBe(0);
      expect(await store.count('D', D, 'v2')).toBe(0);
      expect(await store.count('C', '2024-01-08', 'v1')).toBe(1);
      expect(await store.count('D', D, 'v1')).toBe(1);
      // again: everything is in v2 already or excepted
      expect(await store.copyForward('C', D, 'v1', 'v2', ['u3'])).toBe(0);
      expect(await store.copyForward('C', D, 'none', 'v3', [])).toBe(0);
      expect((await store.versions('C', D)).map((v) => v.version)).toEqual(['v1', 'v2']);
    });

    it('lists the versions of a date with their row counts and last writes, by version', async () => {
      const t0 = time;
      await store.write('C', D, 'b', 'run-b', [row('u1', 1), row('u2', 2)]);
      time = t0 + 1_000;
      await store.write('C', D, 'a10', 'run-a10', [row('u1', 1)]);
      time = t0 + 2_000;
      await store.write('C', D, 'b', 'run-b', [row('u3', 3)]);
      time = t0 + 3_000;
      expect(await store.copyForward('C', D, 'a10', 'a9', [])).toBe(1);
      await store.write('C', '2024-01-08', 'z', 'run-z', [row('u1', 1)]);
      expect(await store.versions('C', D)).toEqual([
        { version: 'a10', rows: 1, lastWrittenAt: t0 + 1_000 },
        { version: 'a9', rows: 1, lastWrittenAt: t0 + 3_000 },
        { version: 'b', rows: 3, lastWrittenAt: t0 + 2_000 },
      ]);
      expect(await store.versions('D', D)).toEqual([]);
    });

    it('gc deletes only the versions not kept whose last write is before the cut-off', async () => {
      const t0 = time;
      await store.write('C', D, 'old', 'run-old', [row('u1', 1), row('u2', 2)]);
      await store.write('C', D, 'kept', 'run-kept', [row('u1', 1)]);
      await store.write('C', D, 'mixed', 'run-mixed', [row('u1', 1)]);
      await store.write('C', '2024-01-08', 'old', 'run-old', [row('u1', 1)]);
      await store.write('D', D, 'old', 'run-old', [row('u1', 1)]);
      time = t0 + 2_000;
      await store.write('C', D, 'edge', 'run-edge', [row('u1', 1)]);
      time = t0 + 5_000;
      await store.write('C', D, 'mixed', 'run-mixed', [row('u2', 2)]);

      // edge's last write is at the cut-off, not before it; mixed has a recent row
      expect(await store.gc('C', D, ['kept', 'absent'], t0 + 2_000)).toBe(1);
      expect((await store.versions('C', D)).map((v) => v.version)).toEqual([
        'edge',
        'kept',
        'mixed',
      ]);
      expect(await store.count('C', D, 'old')).toBe(0);
      expect(await store.gc('C', D, ['kept'], t0 + 2_000)).toBe(0);
      expect(await store.gc('C', D, ['mixed'], t0 + 2_001)).toBe(2);
      expect(await store.versions('C', D)).toEqual([
        { version: 'mixed', rows: 2, lastWrittenAt: t0 + 5_000 },
      ]);
      expect(await store.count('C', '2024-01-08', 'old')).toBe(1);
      expect(await store.count('D', D, 'old')).toBe(1);
      expect(await store.gc('C', '2024-01-09', [], t0 + 10_000)).toBe(0);
    });

    it('lists the dates of a computation before a date, and deletes named versions whatever their age', async () => {
      await store.write('C', '2024-01-05', 'v1', 'run-1', [row('u1', 1)]);
      await store.write('C', '2024-01-05', 'v2', 'run-2', [row('u1', 2), row('u2', 2)]);
      await store.write('C', '2024-01-06', 'v1', 'run-1', [row('u1', 1)]);
      await store.write('C', D, 'v1', 'run-1', [row('u1', 1)]);
      await store.write('X', '2024-01-01', 'v1', 'run-1', [row('u1', 1)]);
      expect(await store.datesBefore('C', D)).toEqual(['2024-01-05', '2024-01-06']);
      expect(await store.datesBefore('C', '2024-01-06')).toEqual(['2024-01-05']);
      expect(await store.datesBefore('C', '2024-01-01')).toEqual([]);
      expect(await store.datesBefore('none', D)).toEqual([]);

      // just written: gc would keep them; deleteVersions does not look at the time
      expect(await store.deleteVersions('C', '2024-01-05', ['v2', 'absent'])).toBe(1);
      expect((await store.versions('C', '2024-01-05')).map((v) => v.version)).toEqual(['v1']);
      expect(await store.count('C', '2024-01-05', 'v2')).toBe(0);
      // again: nothing left to delete (a repeated sweep)
      expect(await store.deleteVersions('C', '2024-01-05', ['v2'])).toBe(0);
      expect(await store.deleteVersions('C', '2024-01-05', [])).toBe(0);
      expect(await store.deleteVersions('C', '2024-01-05', ['v1'])).toBe(1);
      expect(await store.datesBefore('C', D)).toEqual(['2024-01-06']);
      expect(await store.count('C', D, 'v1')).toBe(1);
      expect(await store.count('X', '2024-01-01', 'v1')).toBe(1);
    });
  });
}
