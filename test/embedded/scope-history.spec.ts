import {
  ALL_COMPLETED,
  ALL_SKIPPED,
  computation,
  D,
  D_1,
  Fixture,
  STANDARD_FILES,
  statuses,
} from './fixture';

const USERS = ['u1', 'u2', 'u3', 'u4', 'u5'];

describe('embedded engine: runs restricted to some entities', () => {
  let f: Fixture;
  beforeEach(async () => {
    f = await Fixture.create();
  });
  afterEach(async () => {
    await f.cleanup();
  });

  it('processes only the given entities and never marks the date up to date', async () => {
    const scoped = await f.run({ date: D, entityIds: ['u1'] });
    expect(scoped.entityIds).toEqual(['u1']);
    expect(statuses(scoped)).toEqual(ALL_COMPLETED);
    for (const name of ['OrderTotals', 'UserBand', 'SignupInfo']) {
      const c = scoped.computations[name];
      expect(c.reason).toEqual({ code: 'scoped', entities: 1 });
      expect([c.entityCount, c.processed, c.saved]).toEqual([1, 1, 1]);
    }
    expect(await f.results('OrderTotals', D, USERS)).toEqual({ u1: { count: 2, total: 30 } });
    expect(await f.results('UserBand', D, USERS)).toEqual({ u1: { band: 'high' } });

    // the same scoped run again is not skipped either (the global computation ran whole and may skip)
    expect(statuses(await f.run({ date: D, entityIds: ['u1'] }))).toEqual({
      ...ALL_COMPLETED,
      DailyVolume: 'skipped',
    });

    const full = await f.run({ date: D });
    expect(statuses(full)).toEqual({ ...ALL_COMPLETED, DailyVolume: 'skipped' });
    expect(full.computations.OrderTotals.reason).toEqual({ code: 'changed', changed: ['scope'] });
    expect(full.computations.OrderTotals.entityCount).toBe(5);
    expect(Object.keys(await f.results('OrderTotals', D, USERS)).sort()).toEqual(USERS);

    expect(statuses(await f.run({ date: D }))).toEqual(ALL_SKIPPED);
  });

  it('after a complete date, a scoped run makes the next full run run again', async () => {
    await f.run({ date: D });
    const scoped = await f.run({ date: D, entityIds: ['u2', 'u1', 'u2'] });
    expect(scoped.computations.OrderTotals.reason).toEqual({ code: 'scoped', entities: 2 });
    expect(scoped.computations.OrderTotals.entityCount).toBe(2);
    // entity scope restricts per-entity work only: the global computation is judged whole
    expect(scoped.computations.DailyVolume.status).toBe('skipped');
    // a scoped run keeps the other entities' results
    expect(Object.keys(await f.results('OrderTotals', D, USERS)).sort()).toEqual(USERS);
    const full = await f.run({ date: D });
    expect(statuses(full)).toEqual({ ...ALL_COMPLETED, DailyVolume: 'skipped' });
    expect(statuses(await f.run({ date: D }))).toEqual(ALL_SKIPPED);
  });
});

describe('embedded engine: dry runs', () => {
  let f: Fixture;
  beforeEach(async () => {
    f = await Fixture.create();
  });
  afterEach(async () => {
    await f.cleanup();
  });

  it('write no results and do not make a later run skip', async () => {
    const dry = await f.run({ date: D, dryRun: true });
    expect(dry.dryRun).toBe(true);
    expect(statuses(dry)).toEqual(ALL_COMPLETED);
    expect(dry.computations.OrderTotals.processed).toBe(5);
    expect(dry.computations.OrderTotals.saved).toBe(0);
    expect(await f.results('OrderTotals', D, USERS)).toEqual({});
    expect(await f.results('DailyVolume', D, ['_global'])).toEqual({});

    const real = await f.run({ date: D });
    expect(statuses(real)).toEqual(ALL_COMPLETED);
    expect(real.computations.OrderTotals.reason).toEqual({ code: 'first-run' });
    expect(real.computations.OrderTotals.saved).toBe(5);

    // a dry run of changed code leaves the stored results and the skip state alone
    f.edit('order-totals.ts', 'total: round2(total)', 'total: round2(total * 2)');
    const dryChanged = await f.run({ date: D, dryRun: true });
    expect(dryChanged.computations.OrderTotals.status).toBe('completed');
    expect(await f.results('OrderTotals', D, ['u1'])).toEqual({ u1: { count: 2, total: 30 } });
    const after = await f.run({ date: D });
    expect(after.computations.OrderTotals.status).toBe('completed');
    expect(after.computations.OrderTotals.reason).toEqual({ code: 'changed', changed: ['code'] });
    expect(await f.results('OrderTotals', D, ['u1'])).toEqual({ u1: { count: 2, total: 60 } });
  });
});

describe('embedded engine: historical computations', () => {
  const runningTotal = computation({
    className: 'RunningTotal',
    config: {
      name: 'RunningTotal',
      type: 'per-entity',
      isHistorical: true,
      requires: { orders: { lookback: 0 } },
    },
    body: `    const prev = ctx.previousResult as { cum: number } | null;
    const today = ctx.data.orders.reduce((s, r) => s + Number(r.amount), 0);
    return { cum: (prev?.cum ?? 0) + today, hadPrevious: prev !== null };`,
  });
  let f: Fixture;
  beforeEach(async () => {
    f = await Fixture.create({ files: { 'running-total.ts': runningTotal } });
  });
  afterEach(async () => {
    await f.cleanup();
  });

  it("receive the previous date's result, and re-run when it changes", async () => {
    const day1 = await f.run({ date: D_1 });
    expect(day1.computations.RunningTotal.status).toBe('completed');
    expect(day1.computations.RunningTotal.hashParts?.previous).toBeNull();
    expect(await f.results('RunningTotal', D_1, ['u1', 'u3', 'u5'])).toEqual({
      u1: { cum: 10, hadPrevious: false },
      u3: { cum: 7, hadPrevious: false },
      u5: { cum: 0, hadPrevious: false },
    });

    const day2 = await f.run({ date: D });
    expect(day2.computations.RunningTotal.status).toBe('completed');
    expect(day2.computations.RunningTotal.hashParts?.previous).toBe(
      day1.computations.RunningTotal.resultHash,
    );
    expect(await f.results('RunningTotal', D, ['u1', 'u2', 'u3', 'u5'])).toEqual({
      u1: { cum: 30, hadPrevious: true },
      u2: { cum: 5, hadPrevious: true },
      u3: { cum: 7, hadPrevious: true },
      u5: { cum: 0, hadPrevious: true },
    });
    expect(statuses(await f.run({ date: D }))).toEqual({ RunningTotal: 'skipped' });

    // D-1's data changes: D stays skipped until D-1 is re-run, then follows it
    await f.sql(`UPDATE orders SET amount = 11 WHERE order_id = 1`);
    expect(statuses(await f.run({ date: D }))).toEqual({ RunningTotal: 'skipped' });
    const day1Again = await f.run({ date: D_1 });
    expect(day1Again.computations.RunningTotal.reason).toEqual({
      code: 'changed',
      changed: ['inputs.orders'],
    });
    const day2Again = await f.run({ date: D });
    expect(day2Again.computations.RunningTotal.status).toBe('completed');
    expect(day2Again.computations.RunningTotal.reason).toEqual({
      code: 'changed',
      changed: ['previous'],
    });
    expect(await f.results('RunningTotal', D, ['u1'])).toEqual({
      u1: { cum: 31, hadPrevious: true },
    });
  });
});

describe('embedded engine: process() returning null', () => {
  const ordersToday = computation({
    className: 'OrdersToday',
    config: { name: 'OrdersToday', type: 'per-entity', requires: { orders: { lookback: 0 } } },
    body: `    if (ctx.data.orders.length === 0) return null;
    return { n: ctx.data.orders.length };`,
  });
  let f: Fixture;
  beforeEach(async () => {
    f = await Fixture.create({ files: { ...STANDARD_FILES, 'orders-today.ts': ordersToday } });
  });
  afterEach(async () => {
    await f.cleanup();
  });

  it('saves nothing for that entity, and removes a result it had before', async () => {
    const first = await f.run({ date: D });
    const c = first.computations.OrdersToday;
    expect([c.status, c.entityCount, c.processed, c.saved]).toEqual(['completed', 5, 5, 3]);
    expect(await f.results('OrdersToday', D, USERS)).toEqual({
      u1: { n: 1 },
      u2: { n: 1 },
      u4: { n: 2 },
    });

    // full run: u2 no longer has orders on D
    await f.sql(`DELETE FROM orders WHERE order_id = 3`);
    const second = await f.run({ date: D });
    expect(second.computations.OrdersToday.status).toBe('completed');
    expect(second.computations.OrdersToday.saved).toBe(2);
    expect(await f.results('OrdersToday', D, USERS)).toEqual({ u1: { n: 1 }, u4: { n: 2 } });

    // scoped run: u4 no longer has orders on D
    await f.sql(`DELETE FROM orders WHERE order_id IN (5, 6)`);
    const scoped = await f.run({ date: D, entityIds: ['u4'] });
    expect(scoped.computations.OrdersToday.status).toBe('completed');
    expect(scoped.computations.OrdersToday.saved).toBe(0);
    expect(await f.results('OrdersToday', D, USERS)).toEqual({ u1: { n: 1 } });
  });
});
