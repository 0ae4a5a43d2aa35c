import { addDays } from '@almanac/kernel';
import type { ResultStore } from '@almanac/warehouse';
import type { EmbeddedEngine } from '@almanac/embedded';
import { ALL_SKIPPED, D, Fixture, statuses } from './fixture';

const DAY_MS = 86_400_000;
const LATER = '2026-01-20';

// Given OrderTotals with a ttlDays that keeps 2026-01-15 and later at the sweep's time (the
// other computations keep the default 365 days), results of D (2026-01-10) expire (ADR 0018).
describe('embedded engine: retention (ttlDays)', () => {
  let f: Fixture;
  // the sweep runs "two days from now", so that versions written by this test are past the
  // one-day in-use window
  const sweepAt = new Date(Date.now() + 2 * DAY_MS);
  const today = sweepAt.toISOString().slice(0, 10);
  const ttlDays = Math.round((Date.parse(today) - Date.parse('2026-01-15')) / DAY_MS);

  beforeEach(async () => {
    f = await Fixture.create();
    f.edit(
      'order-totals.ts',
      '"name":"OrderTotals",',
      `"name":"OrderTotals","ttlDays":${ttlDays},`,
    );
  });
  afterEach(async () => {
    await f.cleanup();
  });

  const expiries = async (e: EmbeddedEngine) =>
    (await e.store.readAll()).filter((x) => x.type === 'ResultVersionsExpired');
  const versionsOf = async (e: EmbeddedEngine, c: string, date: string) =>
    (await e.results.versions(c, date)).map((v) => v.version);

  async function withEngine<T>(
    fn: (e: EmbeddedEngine) => Promise<T>,
    wrapResults?: (s: ResultStore) => ResultStore,
  ): Promise<T> {
    const engine = await f.open(f.config, { wrapResults });
    try {
      return await fn(engine);
    } finally {
      await f.close();
    }
  }

  it('removes every version of the expired dates, records them first, keeps the rest, and is idempotent', async () => {
    const first = await f.run({ date: D });
    await f.run({ date: D, targets: ['OrderTotals'], force: true });
    await f.run({ date: LATER });
    const superseded = `${first.runId}/1`;

    const dry = await withEngine(async (engine) => {
      const before = await versionsOf(engine, 'OrderTotals', D);
      expect(before).toHaveLength(2);
      expect(before).toContain(superseded);
      const report = await engine.retention.sweep({ now: sweepAt, dryRun: true });
      expect(report.computations).toContainEqual({
        computation: 'OrderTotals',
        ttlDays,
        cutoff: addDays(today, -ttlDays),
      });
      expect(report.expired).toEqual([
        {
          computation: 'OrderTotals',
          date: D,
          versions: [...before].sort(),
          current: before.find((v) => v !== superseded),
        },
      ]);
      // a dry run appends and deletes nothing
      expect(await expiries(engine)).toHaveLength(0);
      expect(await versionsOf(engine, 'OrderTotals', D)).toEqual(before);
      return report;
    });

    await withEngine(async (engine) => {
      const report = await engine.retention.sweep({ now: sweepAt });
      expect(report.expired).toEqual(dry.expired);
      expect(report.deleted).toEqual([
        { computation: 'OrderTotals', date: D, versions: dry.expired[0].versions },
      ]);
      const recorded = await expiries(engine);
      expect(recorded.map((e) => e.payload)).toEqual([
        {
          computation: 'OrderTotals',
          date: D,
          versions: dry.expired[0].versions,
          current: dry.expired[0].current,
          ttlDays,
          cutoff: addDays(today, -ttlDays),
        },
      ]);
      expect(await versionsOf(engine, 'OrderTotals', D)).toEqual([]);
      // kept: a later date of OrderTotals, and D of the computations with the default ttlDays
      expect(await versionsOf(engine, 'OrderTotals', LATER)).toHaveLength(1);
      expect(await versionsOf(engine, 'UserBand', D)).toHaveLength(1);
      expect(await engine.readResults('OrderTotals', D, ['u1'])).toEqual(new Map());

      // again: nothing new to record or delete
      const again = await engine.retention.sweep({ now: sweepAt });
      expect([again.expired, again.deleted]).toEqual([[], []]);
      expect(await expiries(engine)).toHaveLength(1);
    });

    // the expired date runs again as a first run; its dependant skips (same result hash)
    const rerun = await f.run({ date: D });
    expect(statuses(rerun)).toEqual({ ...ALL_SKIPPED, OrderTotals: 'completed' });
    expect(rerun.computations.OrderTotals.reason).toEqual({ code: 'first-run' });
    expect(rerun.computations.OrderTotals.resultHash).toBe(
      first.computations.OrderTotals.resultHash,
    );
  });

  it('after a crash between the append and the delete, the next sweep deletes what the log recorded', async () => {
    await f.run({ date: D });
    const crashing = (store: ResultStore): ResultStore => ({
      ...store,
      deleteVersions: () => Promise.reject(new Error('killed before the delete')),
    });
    await withEngine(async (engine) => {
      await expect(engine.retention.sweep({ now: sweepAt })).rejects.toThrow(
        'killed before the delete',
      );
      expect(await expiries(engine)).toHaveLength(1);
      expect(await versionsOf(engine, 'OrderTotals', D)).toHaveLength(1);
      // readers already see no result: the log says it expired
      expect(await engine.readResults('OrderTotals', D, ['u1'])).toEqual(new Map());
    }, crashing);

    // ttlDays raised meanwhile: D is kept from now on, yet what the log expired is deleted
    f.edit('order-totals.ts', `"ttlDays":${ttlDays}`, '"ttlDays":100000');
    await withEngine(async (engine) => {
      const report = await engine.retention.sweep({ now: sweepAt });
      expect(report.computations).toContainEqual(
        expect.objectContaining({ computation: 'OrderTotals', ttlDays: 100000 }),
      );
      expect(report.expired).toEqual([]);
      expect(report.deleted).toEqual([
        { computation: 'OrderTotals', date: D, versions: expect.any(Array) },
      ]);
      expect(await versionsOf(engine, 'OrderTotals', D)).toEqual([]);
      expect(await expiries(engine)).toHaveLength(1);
    });
  });

  it('keeps a version written within the last day (a run of an old date may be using it)', async () => {
    await f.run({ date: D });
    await withEngine(async (engine) => {
      const report = await engine.retention.sweep({ now: new Date() });
      expect(report.expired).toEqual([]);
      expect(await versionsOf(engine, 'OrderTotals', D)).toHaveLength(1);
    });
  });
});
