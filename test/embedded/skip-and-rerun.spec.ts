import { analyze, readViews } from '@almanac/api';
import { ALL_COMPLETED, ALL_SKIPPED, D, Fixture, reasonCodes, statuses } from './fixture';

// Given the four standard computations (OrderTotals -> UserBand, DailyVolume, SignupInfo) run
// once for D, what a second run re-runs depends only on what changed.
describe('embedded engine: skipping what did not change', () => {
  let f: Fixture;
  beforeEach(async () => {
    f = await Fixture.create();
  });
  afterEach(async () => {
    await f.cleanup();
  });

  it('completes everything on the first run and skips everything on the second', async () => {
    const first = await f.run({ date: D });
    expect(first.status).toBe('completed');
    expect(statuses(first)).toEqual(ALL_COMPLETED);
    expect(reasonCodes(first)).toEqual({
      OrderTotals: 'first-run',
      UserBand: 'first-run',
      DailyVolume: 'first-run',
      SignupInfo: 'first-run',
    });
    expect(first.computations.OrderTotals.entityCount).toBe(5);
    expect(first.computations.OrderTotals.saved).toBe(5);
    expect(first.computations.OrderTotals.batchCount).toBe(3); // batchSize 2
    expect(first.computations.DailyVolume.entityCount).toBe(1);
    expect(await f.results('OrderTotals', D, ['u1', 'u2', 'u5'])).toEqual({
      u1: { count: 2, total: 30 },
      u2: { count: 1, total: 5 },
      u5: { count: 0, total: 0 },
    });
    expect(await f.results('DailyVolume', D, ['_global'])).toEqual({ _global: { volume: 28 } });

    const second = await f.run({ date: D });
    expect(second.status).toBe('completed');
    expect(statuses(second)).toEqual(ALL_SKIPPED);
    for (const c of Object.values(second.computations)) {
      expect(c.reason).toEqual({
        code: 'unchanged',
        compositeHash: first.computations[c.name].compositeHash,
      });
      expect(c.resultHash).toBe(first.computations[c.name].resultHash);
      expect(c.processed).toBe(0);
    }
  });

  it('re-runs a changed computation but not its dependant when its results stay the same', async () => {
    const first = await f.run({ date: D });
    // rename a local variable and add a no-op statement: new code, same results
    f.edit(
      'order-totals.ts',
      'const total = rows.reduce((s, r) => s + Number(r.amount), 0);',
      'const sum = rows.reduce((s, r) => s + Number(r.amount), 0);\n    void 0;',
    );
    f.edit('order-totals.ts', 'total: round2(total)', 'total: round2(sum)');
    const second = await f.run({ date: D });
    expect(statuses(second)).toEqual({ ...ALL_SKIPPED, OrderTotals: 'completed' });
    expect(second.computations.OrderTotals.reason).toEqual({ code: 'changed', changed: ['code'] });
    expect(second.computations.OrderTotals.processed).toBe(5);
    expect(second.computations.OrderTotals.resultHash).toBe(
      first.computations.OrderTotals.resultHash,
    );
    expect(second.computations.UserBand.reason?.code).toBe('unchanged');
  });

  it('re-runs the dependant when the changed computation produces different results', async () => {
    const first = await f.run({ date: D });
    f.edit('order-totals.ts', 'total: round2(total)', 'total: round2(total * 2)');
    const second = await f.run({ date: D });
    expect(statuses(second)).toEqual({
      ...ALL_SKIPPED,
      OrderTotals: 'completed',
      UserBand: 'completed',
    });
    expect(second.computations.OrderTotals.reason).toEqual({ code: 'changed', changed: ['code'] });
    expect(second.computations.OrderTotals.resultHash).not.toBe(
      first.computations.OrderTotals.resultHash,
    );
    expect(second.computations.UserBand.reason).toEqual({
      code: 'changed',
      changed: ['dependencies.OrderTotals'],
    });
    expect(await f.results('OrderTotals', D, ['u1'])).toEqual({ u1: { count: 2, total: 60 } });
    // u2: 5 -> 10 crosses the band threshold
    expect(await f.results('UserBand', D, ['u2', 'u4'])).toEqual({
      u2: { band: 'high' },
      u4: { band: 'low' },
    });
  });

  it('re-runs nothing after a comment-only or formatting-only change', async () => {
    await f.run({ date: D });
    f.edit(
      'order-totals.ts',
      'const rows = ctx.data.orders;',
      '// the window of orders\n    /* two days */ const rows   =   ctx.data.orders ;\n\n',
    );
    f.edit(
      'user-band.ts',
      "return { band: t && t.total >= 10 ? 'high' : 'low' };",
      "return {\n      band:\n        t && t.total >= 10\n          ? 'high'\n          : 'low',\n    };",
    );
    f.edit('shared/money.ts', 'export function', '/** rounds to cents */\nexport function');
    const second = await f.run({ date: D });
    expect(statuses(second)).toEqual(ALL_SKIPPED);
  });

  it('re-runs exactly the importers of a changed shared module', async () => {
    const first = await f.run({ date: D });
    expect(Object.keys(first.computations.OrderTotals.codeFiles)).toEqual([
      'computations/order-totals.ts',
      'computations/shared/money.ts',
    ]);
    expect(Object.keys(first.computations.SignupInfo.codeFiles)).toEqual([
      'computations/rules/tenure.ts',
      'computations/signup-info.ts',
    ]);

    f.edit(
      'shared/money.ts',
      'return Math.round(x * 100) / 100;',
      'const cents = Math.round(x * 100);\n  return cents / 100;',
    );
    const second = await f.run({ date: D });
    // UserBand depends on OrderTotals, whose results did not change
    expect(statuses(second)).toEqual({
      OrderTotals: 'completed',
      DailyVolume: 'completed',
      UserBand: 'skipped',
      SignupInfo: 'skipped',
    });
    expect(second.computations.OrderTotals.reason).toEqual({ code: 'changed', changed: ['code'] });
    expect(second.computations.DailyVolume.reason).toEqual({ code: 'changed', changed: ['code'] });
    expect(second.computations.OrderTotals.codeFiles['computations/shared/money.ts']).not.toBe(
      first.computations.OrderTotals.codeFiles['computations/shared/money.ts'],
    );

    f.edit('rules/tenure.ts', '86400000', '(24 * 3600 * 1000)');
    const third = await f.run({ date: D });
    expect(statuses(third)).toEqual({ ...ALL_SKIPPED, SignupInfo: 'completed' });
    expect(third.computations.SignupInfo.reason).toEqual({ code: 'changed', changed: ['code'] });
  });

  it('re-runs the readers of a table whose rows in the window changed, and nothing for rows outside every window', async () => {
    await f.run({ date: D });

    await f.sql(`INSERT INTO orders VALUES (7, 'u2', DATE '${D}', 3)`);
    const inserted = await f.run({ date: D });
    expect(statuses(inserted)).toEqual({
      OrderTotals: 'completed',
      UserBand: 'completed',
      DailyVolume: 'completed',
      SignupInfo: 'skipped',
    });
    expect(inserted.computations.OrderTotals.reason).toEqual({
      code: 'changed',
      changed: ['inputs.orders'],
    });
    expect(inserted.computations.DailyVolume.reason).toEqual({
      code: 'changed',
      changed: ['inputs.orders'],
    });
    expect(inserted.computations.UserBand.reason).toEqual({
      code: 'changed',
      changed: ['dependencies.OrderTotals'],
    });
    expect(await f.results('DailyVolume', D, ['_global'])).toEqual({ _global: { volume: 31 } });

    // the D-1 row is in OrderTotals' window (lookback 1) but not in DailyVolume's (lookback 0)
    await f.sql(`UPDATE orders SET amount = 11 WHERE order_id = 1`);
    const updated = await f.run({ date: D });
    expect(statuses(updated)).toEqual({
      OrderTotals: 'completed',
      UserBand: 'completed',
      DailyVolume: 'skipped',
      SignupInfo: 'skipped',
    });
    expect(updated.computations.OrderTotals.reason).toEqual({
      code: 'changed',
      changed: ['inputs.orders'],
    });
    expect(await f.results('OrderTotals', D, ['u1'])).toEqual({ u1: { count: 2, total: 31 } });

    await f.sql(
      `INSERT INTO orders VALUES (8, 'u1', DATE '2025-06-01', 100), (9, 'u1', DATE '2026-01-11', 100)`,
    );
    const outside = await f.run({ date: D });
    expect(statuses(outside)).toEqual(ALL_SKIPPED);
  });

  it('re-runs everything with force, even though nothing changed', async () => {
    const first = await f.run({ date: D });
    const forced = await f.run({ date: D, force: true });
    expect(statuses(forced)).toEqual(ALL_COMPLETED);
    for (const c of Object.values(forced.computations)) {
      expect(c.reason).toEqual({ code: 'forced', changed: [] });
      expect(c.resultHash).toBe(first.computations[c.name].resultHash);
    }
    expect(forced.computations.OrderTotals.processed).toBe(5);
    expect(statuses(await f.run({ date: D }))).toEqual(ALL_SKIPPED);
  });

  // the seed's --force re-runs the named computations only
  it('force re-runs the targets only; their dependencies run only if something changed', async () => {
    await f.run({ date: D });
    const forced = await f.run({ date: D, targets: ['UserBand'], force: true });
    expect(statuses(forced)).toEqual({ OrderTotals: 'skipped', UserBand: 'completed' });
    expect(reasonCodes(forced)).toEqual({ OrderTotals: 'unchanged', UserBand: 'forced' });
    expect(forced.computations.OrderTotals.forced).toBe(false);
    expect(forced.computations.UserBand.forced).toBe(true);
  });

  it('forceUpstream re-runs the targets and every computation they depend on', async () => {
    await f.run({ date: D });
    const forced = await f.run({ date: D, targets: ['UserBand'], forceUpstream: true });
    expect(forced.forceUpstream).toBe(true);
    expect(reasonCodes(forced)).toEqual({ OrderTotals: 'forced', UserBand: 'forced' });
    expect(forced.computations.OrderTotals.processed).toBe(5);
  });
});

describe('embedded engine: new entities', () => {
  let f: Fixture;
  beforeEach(async () => {
    f = await Fixture.create();
  });
  afterEach(async () => {
    await f.cleanup();
  });

  /** what `almanac analyze` predicts for D */
  async function predictions(): Promise<Record<string, string>> {
    const engine = await f.open();
    try {
      const rows = await analyze(
        engine.project,
        engine.config,
        engine.warehouse,
        await readViews(engine.store),
        D,
      );
      return Object.fromEntries(rows.map((r) => [r.computation, r.prediction]));
    } finally {
      await f.close();
    }
  }

  it('a user who signed up by the date gets results, even from computations that do not read users', async () => {
    await f.run({ date: D });
    expect(await predictions()).toEqual({
      OrderTotals: 'skip',
      UserBand: 'skip',
      DailyVolume: 'skip',
      SignupInfo: 'skip',
    });
    await f.sql(`INSERT INTO users VALUES ('u6', DATE '2026-01-05')`);
    expect(await predictions()).toEqual({
      OrderTotals: 'run',
      UserBand: 'run',
      DailyVolume: 'skip',
      SignupInfo: 'run',
    });
    const view = await f.run({ date: D });
    expect(statuses(view)).toEqual({
      OrderTotals: 'completed',
      UserBand: 'completed',
      DailyVolume: 'skipped',
      SignupInfo: 'completed',
    });
    expect(view.computations.OrderTotals.reason).toEqual({
      code: 'changed',
      changed: ['inputs.@entities'],
    });
    expect(view.computations.UserBand.reason).toEqual({
      code: 'changed',
      changed: ['inputs.@entities', 'dependencies.OrderTotals'],
    });
    expect(view.computations.SignupInfo.reason).toEqual({
      code: 'changed',
      changed: ['inputs.@entities', 'inputs.users'],
    });
    expect(view.computations.OrderTotals.entityCount).toBe(6);
    expect(await f.results('OrderTotals', D, ['u6'])).toEqual({ u6: { count: 0, total: 0 } });
    expect(await f.results('UserBand', D, ['u6'])).toEqual({ u6: { band: 'low' } });
    expect(statuses(await f.run({ date: D }))).toEqual(ALL_SKIPPED);
  });
});
