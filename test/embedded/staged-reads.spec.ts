import * as path from 'node:path';
import { createFolderObjectStore } from '@almanac/storage';
import type { Warehouse } from '@almanac/warehouse';
import { ALL_COMPLETED, D, duplicatingBus, Fixture, STANDARD_FILES, statuses } from './fixture';

/** Counts the warehouse's reads and reads the real one. */
function counting(reads: { window: string[]; entities: string[] }) {
  return (w: Warehouse): Warehouse => ({
    ...w,
    fetchWindow: (table, settings, window) => {
      reads.window.push(table);
      return w.fetchWindow(table, settings, window);
    },
    fetchForEntities: (table, settings, window, ids) => {
      reads.entities.push(table);
      return w.fetchForEntities(table, settings, window, ids);
    },
  });
}

// ADR 0026, "Bytes are money": per-entity inputs are read once per attempt, not once per batch.
describe('staged reads through the executor and the workers', () => {
  const fixtures: Fixture[] = [];
  afterEach(async () => {
    await Promise.all(fixtures.splice(0).map((f) => f.cleanup()));
  });

  it('given staging, when a 3-batch run completes, then each table window was read once and the results equal an unstaged run', async () => {
    const plain = await Fixture.create();
    const staged = await Fixture.create();
    fixtures.push(plain, staged);
    const plainReads = { window: [] as string[], entities: [] as string[] };
    const stagedReads = { window: [] as string[], entities: [] as string[] };

    const a = await plain.run({ date: D }, { wrapWarehouse: counting(plainReads) });
    const stagingStore = createFolderObjectStore(path.join(staged.dir, 'staging'));
    const b = await staged.run(
      { date: D },
      {
        wrapWarehouse: counting(stagedReads),
        staging: stagingStore,
      },
    );

    expect(statuses(a)).toEqual(ALL_COMPLETED);
    expect(statuses(b)).toEqual(ALL_COMPLETED);
    for (const name of Object.keys(a.computations))
      expect(b.computations[name].resultHash).toBe(a.computations[name].resultHash);
    // unstaged: OrderTotals and SignupInfo read their table once per batch (5 users, batches of 2)
    expect(plainReads.entities.sort()).toEqual([
      ...Array(3).fill('orders'),
      ...Array(3).fill('users'),
    ]);
    // staged: one window read per (computation, table), the global DailyVolume's included
    expect(stagedReads.entities).toEqual([]);
    expect(stagedReads.window.sort()).toEqual(['orders', 'orders', 'users']);
    // what was staged is deleted once each computation completed
    expect(await stagingStore.list('')).toEqual([]);
  });

  it('given every message delivered twice, then each window is still read once and the results are the same', async () => {
    // without the global DailyVolume: its one batch is not staged, and a worker that gets its
    // request twice reads its window twice
    const files = Object.fromEntries(
      Object.entries(STANDARD_FILES).filter(([file]) => file !== 'daily-volume.ts'),
    );
    const once = await Fixture.create({ files });
    const twice = await Fixture.create({ files });
    fixtures.push(once, twice);
    const reads = { window: [] as string[], entities: [] as string[] };
    const a = await once.run({ date: D });
    const b = await twice.run(
      { date: D },
      {
        bus: duplicatingBus(),
        wrapWarehouse: counting(reads),
        staging: createFolderObjectStore(path.join(twice.dir, 'staging')),
      },
    );
    expect(Object.values(statuses(b))).toEqual(Array(3).fill('completed'));
    for (const name of Object.keys(a.computations))
      expect(b.computations[name].resultHash).toBe(a.computations[name].resultHash);
    expect(reads.entities).toEqual([]);
    expect(reads.window.sort()).toEqual(['orders', 'users']);
  });
});
