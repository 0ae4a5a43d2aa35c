import { ManifestError } from '@almanac/kernel';
import { ConfigError, parseProjectConfig } from '@almanac/platform';
import { computation, D, Fixture, STANDARD_CONFIG, STANDARD_FILES, statuses } from './fixture';

const dependsOn = (name: string, deps: string[]) =>
  computation({
    className: name,
    config: { name, type: 'global', dependencies: deps },
    body: '    return { ok: true };',
  });

describe('embedded engine: invalid projects fail when opened, naming what is wrong', () => {
  let f: Fixture | null = null;
  afterEach(async () => {
    await f?.cleanup();
    f = null;
  });

  it('a dependency cycle fails with its path', async () => {
    f = await Fixture.create({
      files: {
        'a.ts': dependsOn('A', ['B']),
        'b.ts': dependsOn('B', ['A']),
        'c.ts': dependsOn('C', []),
      },
    });
    const opened = f.open();
    await expect(opened).rejects.toThrow(ManifestError);
    await expect(opened).rejects.toMatchObject({
      code: 'cycle',
      message: 'dependency cycle: A -> B -> A',
    });
  });

  it('an unknown dependency fails naming it and the closest computation', async () => {
    f = await Fixture.create({
      files: {
        ...STANDARD_FILES,
        'user-band.ts': STANDARD_FILES['user-band.ts'].replace(
          'dependencies":["OrderTotals"]',
          'dependencies":["OrderTotal"]',
        ),
      },
    });
    await expect(f.open()).rejects.toMatchObject({
      code: 'unknown-dependency',
      message:
        'computation "UserBand" depends on unknown computation "OrderTotal" (did you mean "OrderTotals"?)',
    });
  });

  it('an invalid field value in a computation config fails naming the computation and the field', async () => {
    f = await Fixture.create({
      files: {
        ...STANDARD_FILES,
        'order-totals.ts': STANDARD_FILES['order-totals.ts'].replace(
          '"lookback":1',
          '"lookback":"x"',
        ),
      },
    });
    const opened = f.open();
    await expect(opened).rejects.toMatchObject({ code: 'invalid-config' });
    await expect(opened).rejects.toThrow(
      'computation "OrderTotals": invalid config: requires.orders.lookback: expected number, received string',
    );
  });

  it('an unknown field in a computation config fails naming it and the closest valid field', async () => {
    f = await Fixture.create({
      files: {
        ...STANDARD_FILES,
        'user-band.ts': STANDARD_FILES['user-band.ts'].replace('"dependencies"', '"dependecies"'),
      },
    });
    await expect(f.open()).rejects.toThrow(
      'computation "UserBand": invalid config: dependecies: unknown field (did you mean "dependencies"?)',
    );
  });

  it('a required table missing from the project config fails naming the table', async () => {
    f = await Fixture.create({
      files: {
        ...STANDARD_FILES,
        'daily-volume.ts': STANDARD_FILES['daily-volume.ts'].replace('"orders"', '"order"'),
      },
    });
    await expect(f.open()).rejects.toThrow(
      'computation "DailyVolume": requires table "order", which is not configured under "tables" in almanac.config.ts (did you mean "orders"?)',
    );
  });

  it('an invalid project config fails naming the field', () => {
    expect(() => parseProjectConfig({ ...STANDARD_CONFIG, retries: 3 })).toThrow(ConfigError);
    expect(() => parseProjectConfig({ ...STANDARD_CONFIG, retries: 3 })).toThrow(
      'almanac.config.ts: invalid configuration: (root): unknown field(s) "retries"',
    );
    expect(() => parseProjectConfig({ ...STANDARD_CONFIG, execution: { batchSize: 'x' } })).toThrow(
      'execution.batchSize: ',
    );
  });
});

describe('embedded engine: a table setting naming a column the table does not have', () => {
  let f: Fixture;
  afterEach(async () => {
    await f.cleanup();
  });

  it('fails the computations that read it, naming the table and the column', async () => {
    f = await Fixture.create({
      config: {
        ...STANDARD_CONFIG,
        tables: {
          ...STANDARD_CONFIG.tables,
          orders: { entityField: 'customer_id', dateField: 'order_date' },
        },
      },
    });
    const view = await f.run({ date: D });
    expect(view.status).toBe('failed');
    // a global computation reads the whole window and never filters on the entity column
    expect(statuses(view)).toEqual({
      OrderTotals: 'failed',
      UserBand: 'blocked',
      DailyVolume: 'completed',
      SignupInfo: 'completed',
    });
    const reason = view.computations.OrderTotals.reason;
    expect(reason?.code).toBe('error');
    expect(reason && 'message' in reason ? reason.message : '').toContain(
      'table "orders" has no column "customer_id" (closest: user_id, order_id)',
    );
    expect(view.computations.OrderTotals.saved).toBe(0);
    expect(view.computations.OrderTotals.resultHash).toBeNull();
  });

  it('does not retry a batch whose error retrying cannot fix (an unknown column), even with retries configured', async () => {
    f = await Fixture.create({
      config: {
        ...STANDARD_CONFIG,
        tables: {
          ...STANDARD_CONFIG.tables,
          orders: { entityField: 'customer_id', dateField: 'order_date' },
        },
        execution: { batchSize: 2, workerConcurrency: 2, breaker: { retries: 2 } },
      },
    });
    const engine = await f.open();
    const view = await engine.run({ date: D });
    // the computation's stream and its batches' streams
    const events = await engine.store.readStreamsByPrefix(`run-${view.runId}-OrderTotals`);
    await f.close();
    expect(view.computations.OrderTotals.status).toBe('failed');
    // 5 users in batches of 2: three batches, each requested once (retry 0), never again
    const requested = events
      .filter((e) => e.type === 'BatchRequested')
      .map((e) => e.eventId.split(':').slice(-2).join(':'));
    expect(requested.sort()).toEqual(['0:0', '1:0', '2:0']);
    expect(
      events
        .filter((e) => e.type === 'BatchDone')
        .every((e) => e.type === 'BatchDone' && e.payload.permanent === true),
    ).toBe(true);
  });
});

describe('embedded engine: impossible, failed and blocked', () => {
  let f: Fixture;
  afterEach(async () => {
    await f.cleanup();
  });

  it('a mandatory table with no rows in the window makes the computation impossible and blocks its dependants', async () => {
    const share = computation({
      className: 'VolumeShare',
      config: {
        name: 'VolumeShare',
        type: 'per-entity',
        dependencies: ['DailyVolume', 'OrderTotals'],
      },
      body: "    return { share: ctx.getDependency('OrderTotals').total / ctx.getDependency('DailyVolume', '_global').volume };",
    });
    f = await Fixture.create({ files: { ...STANDARD_FILES, 'volume-share.ts': share } });
    const view = await f.run({ date: '2026-01-05' }); // users exist, no orders on that date
    expect(statuses(view)).toEqual({
      OrderTotals: 'completed',
      UserBand: 'completed',
      SignupInfo: 'completed',
      DailyVolume: 'impossible',
      VolumeShare: 'blocked',
    });
    expect(view.computations.DailyVolume.reason).toEqual({
      code: 'mandatory-table-empty',
      table: 'orders',
      window: { from: '2026-01-05', to: '2026-01-05' },
    });
    expect(view.computations.VolumeShare.reason).toEqual({
      code: 'dependency-not-ready',
      dependencies: [{ name: 'DailyVolume', status: 'impossible' }],
    });
    expect(view.computations.VolumeShare.processed).toBe(0);
    // impossible is an expected outcome, not a failure of the run
    expect(view.status).toBe('completed');
  });

  it('entities whose process() throws fail the computation with their ids, and block its dependants', async () => {
    const flaky = computation({
      className: 'Flaky',
      config: { name: 'Flaky', type: 'per-entity', requires: { orders: { lookback: 1 } } },
      body: "    if (ctx.data.orders.length === 0 || ctx.entityId === 'u2') throw new Error(`no usable orders for ${ctx.entityId}`);\n    return { n: ctx.data.orders.length };",
    });
    f = await Fixture.create({
      files: {
        ...STANDARD_FILES,
        'flaky.ts': flaky,
        'after-flaky.ts': dependsOn('AfterFlaky', ['Flaky']),
      },
    });
    const view = await f.run({ date: D });
    expect(statuses(view)).toEqual({
      OrderTotals: 'completed',
      UserBand: 'completed',
      DailyVolume: 'completed',
      SignupInfo: 'completed',
      Flaky: 'failed',
      AfterFlaky: 'blocked',
    });
    const flakyView = view.computations.Flaky;
    expect(flakyView.reason).toEqual({ code: 'entity-failures', failed: 2, total: 5 });
    expect(flakyView.failedEntities).toEqual([
      { entityId: 'u2', message: 'no usable orders for u2' },
      { entityId: 'u5', message: 'no usable orders for u5' },
    ]);
    expect(flakyView.failed).toBe(2);
    expect(view.computations.AfterFlaky.reason).toEqual({
      code: 'dependency-not-ready',
      dependencies: [{ name: 'Flaky', status: 'failed' }],
    });
    expect(flakyView.saved).toBe(3);
    expect(flakyView.resultHash).toBeNull();
    expect(view.status).toBe('failed');
  });
});
