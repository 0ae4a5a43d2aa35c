import {
  ApiRequestError,
  previewImpact,
  readViews,
  renderImpactPreview,
  type ImpactPreview,
} from '@almanac/api';
import type { Warehouse } from '@almanac/warehouse';
import { embeddedQueries } from '@almanac/embedded';
import { addDays } from '@almanac/kernel';
import { cli } from './cli-harness';
import { computation, D, D_1, Fixture, statuses, STANDARD_FILES } from './fixture';
import { PREVIEW_FILES } from './preview-fixture';

const D1 = addDays(D, 1);
const D2 = addDays(D, 2);

/** computation -> date -> prediction */
function grid(p: ImpactPreview): Record<string, Record<string, string>> {
  const g: Record<string, Record<string, string>> = {};
  for (const c of p.cells) (g[c.computation] ??= {})[c.date] = c.prediction;
  return g;
}

const cell = (p: ImpactPreview, computation: string, date: string) =>
  p.cells.find((c) => c.computation === computation && c.date === date)!;

// Given the standard computations (OrderTotals -> UserBand, DailyVolume -> VolumeBand, SignupInfo)
// run for some dates, a preview over a range says what runs of each date would do, and why,
// without appending anything.
describe('impact preview over a range of dates', () => {
  let f: Fixture;
  beforeEach(async () => {
    f = await Fixture.create({ files: PREVIEW_FILES });
  });
  afterEach(async () => {
    await f.cleanup();
  });

  /** previews [from, to] and checks that the log did not grow */
  async function preview(from: string, to: string, targets: string[] = [], force = false) {
    const engine = await f.open();
    const q = embeddedQueries(engine);
    try {
      const before = (await engine.store.readAll()).length;
      const p = await q.queries.previewRange(from, to, targets, { force, forceUpstream: false });
      expect((await engine.store.readAll()).length).toBe(before);
      return p;
    } finally {
      await q.close();
      await f.close();
    }
  }

  async function runDates(...dates: string[]) {
    for (const date of dates) await f.run({ date });
  }

  it('after a code change in a shared module: names the file, the computations that import it and their dependants', async () => {
    await runDates(D_1, D);
    f.edit('shared/money.ts', 'Math.round(x * 100) / 100', 'Math.round(x * 10) / 10');

    const p = await preview(D_1, D);

    expect(grid(p)).toEqual({
      OrderTotals: { [D_1]: 'run', [D]: 'run' },
      DailyVolume: { [D_1]: 'run', [D]: 'run' },
      SignupInfo: { [D_1]: 'skip', [D]: 'skip' },
      UserBand: { [D_1]: 'maybe', [D]: 'maybe' },
      VolumeBand: { [D_1]: 'maybe', [D]: 'maybe' },
    });
    expect(cell(p, 'OrderTotals', D).causes).toEqual([
      { kind: 'code', files: ['computations/shared/money.ts'] },
    ]);
    expect(cell(p, 'UserBand', D).upstream).toEqual([{ computation: 'OrderTotals', date: D }]);
    expect(cell(p, 'UserBand', D).why).toBe('re-runs only if the result of OrderTotals changes');
    expect(p.totals).toEqual({ run: 4, maybe: 4, skip: 2, blocked: 0, impossible: 0 });
    expect(p.summary.map((g) => g.text)).toEqual([
      'a code change in `computations/shared/money.ts` re-runs DailyVolume on 2 dates ' +
        `(${D_1}..${D}), OrderTotals on 2 dates (${D_1}..${D}), and 2 dependants where results ` +
        `change: UserBand on 2 dates (${D_1}..${D}), VolumeBand on 2 dates (${D_1}..${D})`,
      `unchanged (skip): SignupInfo on 2 dates (${D_1}..${D})`,
    ]);
    expect(p.note).toContain('cannot know the new result');

    // a run does what the preview said: the code change re-runs OrderTotals and DailyVolume
    const run = await f.run({ date: D });
    expect(run.computations.OrderTotals.reason).toEqual({ code: 'changed', changed: ['code'] });
    expect(run.computations.DailyVolume.reason).toEqual({ code: 'changed', changed: ['code'] });
    expect(run.computations.SignupInfo.status).toBe('skipped');
  });

  it('a code change in one computation file names that file only', async () => {
    await runDates(D);
    f.edit('order-totals.ts', 'total: round2(total)', 'total: round2(total * 2)');
    const p = await preview(D, D);
    expect(cell(p, 'OrderTotals', D).causes).toEqual([
      { kind: 'code', files: ['computations/order-totals.ts'] },
    ]);
    expect(grid(p).DailyVolume).toEqual({ [D]: 'skip' });
  });

  it('after new rows in one table for one date: names the table and the dates whose windows hold them', async () => {
    await runDates(D_1, D, D1);
    // a late order of u2 on D-1: in OrderTotals' windows of D-1 and D (lookback 1), DailyVolume's of D-1
    await f.sql(`INSERT INTO orders VALUES (7,'u2','${D_1}',4)`);

    const p = await preview(D_1, D2);

    expect(grid(p)).toEqual({
      OrderTotals: { [D_1]: 'run', [D]: 'run', [D1]: 'skip', [D2]: 'run' },
      DailyVolume: { [D_1]: 'run', [D]: 'skip', [D1]: 'impossible', [D2]: 'impossible' },
      SignupInfo: { [D_1]: 'skip', [D]: 'skip', [D1]: 'skip', [D2]: 'run' },
      UserBand: { [D_1]: 'maybe', [D]: 'maybe', [D1]: 'skip', [D2]: 'run' },
      VolumeBand: { [D_1]: 'maybe', [D]: 'skip', [D1]: 'blocked', [D2]: 'blocked' },
    });
    expect(cell(p, 'OrderTotals', D).causes).toEqual([{ kind: 'data', table: 'orders' }]);
    expect(cell(p, 'OrderTotals', D2).causes).toEqual([{ kind: 'first-run' }]);
    expect(cell(p, 'DailyVolume', D1).why).toBe(
      `mandatory table "orders" has no rows in ${D1}..${D1}`,
    );
    expect(cell(p, 'DailyVolume', D1).emptyTable).toEqual({ table: 'orders', from: D1, to: D1 });
    expect(cell(p, 'VolumeBand', D2).why).toBe('depends on DailyVolume (impossible)');
    expect(p.summary.map((g) => g.text)).toEqual([
      `changed data in table \`orders\` re-runs DailyVolume on 1 date (${D_1}), ` +
        `OrderTotals on 2 dates (${D_1}..${D}), and 2 dependants where results change: ` +
        `UserBand on 2 dates (${D_1}..${D}), VolumeBand on 1 date (${D_1})`,
      `never run: OrderTotals on 1 date (${D2}), SignupInfo on 1 date (${D2}), UserBand on 1 date (${D2})`,
      `impossible: DailyVolume on 2 dates (${D1}..${D2}): mandatory table \`orders\` has no rows in the window`,
      `blocked: VolumeBand on 2 dates (${D1}..${D2}): depends on DailyVolume, which would not complete`,
      `unchanged (skip): DailyVolume on 1 date (${D}), OrderTotals on 1 date (${D1}), ` +
        `SignupInfo on 3 dates (${D_1}..${D1}), UserBand on 1 date (${D1}), VolumeBand on 1 date (${D})`,
    ]);

    // runs do what the preview said
    const run = await f.run({ date: D_1 });
    expect(statuses(run)).toEqual({
      OrderTotals: 'completed',
      DailyVolume: 'completed',
      SignupInfo: 'skipped',
      // the maybes happen: OrderTotals (u2's count) and DailyVolume have new results
      UserBand: 'completed',
      VolumeBand: 'completed',
    });
    expect(run.computations.OrderTotals.reason).toEqual({
      code: 'changed',
      changed: ['inputs.orders'],
    });
    expect(run.computations.UserBand.reason).toEqual({
      code: 'changed',
      changed: ['dependencies.OrderTotals'],
    });
  });

  it('renders the table and the summary that `analyze --from --to` prints', async () => {
    await runDates(D_1, D);
    await f.sql(`INSERT INTO orders VALUES (7,'u2','${D_1}',4)`);
    const text = renderImpactPreview(await preview(D_1, D));
    expect(text.split('\n')[0]).toBe(
      `impact of runs from ${D_1} to ${D} (2 dates): 3 run, 3 maybe, 4 skip`,
    );
    // consecutive dates with the same prediction and reason share a row
    expect(text).toMatch(
      new RegExp(`OrderTotals +0 +${D_1}\\.\\.${D} +run +data changed in table "orders"`),
    );
    expect(text).toMatch(new RegExp(`DailyVolume +0 +${D_1} +run +data changed in table "orders"`));
    expect(text).toMatch(new RegExp(`DailyVolume +0 +${D} +skip +nothing it depends on changed`));
    expect(text).toContain('summary:\n- changed data in table `orders` re-runs DailyVolume');
    expect(text).toContain('note: the preview cannot know the new result');
  });

  it('a preview for some computations covers them and their dependencies only', async () => {
    await runDates(D);
    const p = await preview(D, D, ['UserBand']);
    expect(Object.keys(grid(p)).sort()).toEqual(['OrderTotals', 'UserBand']);
  });

  it('names --force, and a last result that came from a run restricted to some entities', async () => {
    await runDates(D);
    const forced = await preview(D, D, ['UserBand'], true);
    expect(grid(forced)).toEqual({ OrderTotals: { [D]: 'skip' }, UserBand: { [D]: 'run' } });
    expect(forced.summary[0].text).toBe(`forced: UserBand on 1 date (${D})`);

    await f.run({ date: D, targets: ['SignupInfo'], entityIds: ['u1'] });
    const p = await preview(D, D, ['SignupInfo']);
    expect(cell(p, 'SignupInfo', D).causes).toEqual([{ kind: 'partial' }]);
    expect(p.summary[0].text).toBe(
      `results of runs restricted to some entities are replaced: re-runs SignupInfo on 1 date (${D})`,
    );
  });

  it('refuses a range that ends before it starts, a bad date, an unknown computation', async () => {
    await runDates(D);
    await expect(preview(D, D_1)).rejects.toThrow(`from (${D}) is after to (${D_1})`);
    await expect(preview('2026-02-30', D)).rejects.toThrow(ApiRequestError);
    await expect(preview(D, D, ['Nope'])).rejects.toThrow('unknown computation "Nope"');
  });

  it('reads each table once for the whole range, and gives the same answer read window by window', async () => {
    await runDates(D_1, D);
    await f.sql(`INSERT INTO orders VALUES (7,'u2','${D}',4)`);
    const engine = await f.open();
    try {
      const calls: string[] = [];
      const w = engine.warehouse;
      // the real warehouse, its calls counted
      const counted: Warehouse = {
        ...w,
        fingerprint: (...a) => (calls.push('fingerprint'), w.fingerprint(...a)),
        fingerprintWindows: (...a) => (
          calls.push(`fingerprintWindows ${a[0]}`),
          w.fingerprintWindows!(...a)
        ),
        listEntities: (...a) => (calls.push('listEntities'), w.listEntities(...a)),
        listEntitiesByDate: (...a) => (
          calls.push('listEntitiesByDate'),
          w.listEntitiesByDate!(...a)
        ),
      };
      const src = {
        project: engine.project,
        config: engine.config,
        warehouse: counted,
        views: await readViews(engine.store),
        runOf: async () => null,
      };
      const batched = await previewImpact(src, D_1, D2);
      expect(calls.sort()).toEqual([
        'fingerprintWindows orders',
        'fingerprintWindows users',
        'listEntitiesByDate',
      ]);
      // a warehouse without the batch reads: one read per distinct window and date
      const { fingerprintWindows: _f, listEntitiesByDate: _l, ...plain } = counted;
      calls.length = 0;
      const windowByWindow = await previewImpact({ ...src, warehouse: plain }, D_1, D2);
      expect(windowByWindow).toEqual(batched);
      expect(calls.filter((c) => c === 'listEntities')).toHaveLength(4);
      // orders: lookback 1 (OrderTotals) and 0 (DailyVolume) windows of 4 dates; users: one
      expect(calls.filter((c) => c === 'fingerprint')).toHaveLength(9);
    } finally {
      await f.close();
    }
  });

  it('names a new entity, a dependency re-run without its dependant, and a new epoch', async () => {
    await runDates(D);
    // a user who signed up on D: every per-entity computation's entity set changes
    await f.sql(`INSERT INTO users VALUES ('u6','${D}')`);
    let p = await preview(D, D);
    expect(cell(p, 'OrderTotals', D).causes).toEqual([{ kind: 'entities' }]);
    expect(cell(p, 'DailyVolume', D).prediction).toBe('skip');
    expect(p.summary.map((g) => g.text)).toEqual([
      `changed data in table \`users\` re-runs SignupInfo on 1 date (${D})`,
      `a changed entity set (new or removed entities) re-runs OrderTotals on 1 date (${D}), ` +
        `SignupInfo on 1 date (${D}), UserBand on 1 date (${D})`,
      `unchanged (skip): DailyVolume on 1 date (${D}), VolumeBand on 1 date (${D})`,
    ]);

    // OrderTotals re-run alone with other results: UserBand's recorded dependency is older
    f.edit('order-totals.ts', 'total: round2(total)', 'total: round2(total * 2)');
    await f.run({ date: D, targets: ['OrderTotals'] });
    p = await preview(D, D, ['UserBand']);
    expect(cell(p, 'UserBand', D).causes).toEqual([
      { kind: 'entities' },
      { kind: 'dependency', dependency: 'OrderTotals' },
    ]);
    expect(p.summary.map((g) => g.text)).toContain(
      `a newer result of OrderTotals than the one last used re-runs UserBand on 1 date (${D})`,
    );

    // a new epoch re-runs everything
    const engine = await f.open({ ...f.config, epoch: '2' });
    const q = embeddedQueries(engine);
    try {
      const e = await q.queries.previewRange(D, D, [], { force: false, forceUpstream: false });
      expect(e.totals.run).toBe(5);
      expect(e.summary.find((g) => g.kind === 'epoch')?.text).toBe(
        `a new epoch re-runs DailyVolume on 1 date (${D}), OrderTotals on 1 date (${D}), ` +
          `SignupInfo on 1 date (${D}), UserBand on 1 date (${D}), VolumeBand on 1 date (${D})`,
      );
    } finally {
      await q.close();
      await f.close();
    }
  });

  it('a historical computation after a change on one date: the later dates re-run if the day before changes', async () => {
    await f.cleanup();
    // global, isHistorical: the volume of the day plus the previous day's running total
    const RUNNING_TOTAL = computation({
      className: 'RunningTotal',
      config: {
        name: 'RunningTotal',
        type: 'global',
        isHistorical: true,
        requires: { orders: { lookback: 0 } },
      },
      body: `    const before = (ctx.previousResult as { total: number } | null)?.total ?? 0;
    return { total: before + ctx.data.orders.reduce((s, r) => s + Number(r.amount), 0) };`,
    });
    f = await Fixture.create({ files: { ...STANDARD_FILES, 'running-total.ts': RUNNING_TOTAL } });
    await runDates(D_1, D, D1);
    await f.sql(`INSERT INTO orders VALUES (7,'u2','${D_1}',4)`);

    const p = await preview(D_1, D1, ['RunningTotal']);

    expect(grid(p)).toEqual({ RunningTotal: { [D_1]: 'run', [D]: 'maybe', [D1]: 'maybe' } });
    expect(cell(p, 'RunningTotal', D).upstream).toEqual([
      { computation: 'RunningTotal', date: D_1 },
    ]);
    expect(cell(p, 'RunningTotal', D1).why).toBe(
      're-runs only if its result of the day before changes',
    );
    expect(p.summary.map((g) => g.text)).toEqual([
      `changed data in table \`orders\` re-runs RunningTotal on 1 date (${D_1}), and 1 dependant ` +
        `where results change: RunningTotal on 2 dates (${D}..${D1})`,
    ]);
  });

  describe('the CLI, on the project opened in this process', () => {
    beforeEach(async () => {
      f.writeConfigFile();
      await runDates(D_1, D);
      await f.sql(`INSERT INTO orders VALUES (7,'u2','${D}',4)`);
      f.loadNewCode();
    });

    it('`analyze --from --to` prints the table and the summary; --json the preview; the log does not grow', async () => {
      const engine = await f.open();
      const before = (await engine.store.readAll()).length;
      await f.close();

      const text = await cli(['analyze', '--from', D_1, '--to', D, '--project', f.dir]);
      expect(text.code).toBe(0);
      expect(text.stdout).toContain(
        `impact of runs from ${D_1} to ${D} (2 dates): 2 run, 2 maybe, 6 skip`,
      );
      expect(text.stdout).toContain(
        `- changed data in table \`orders\` re-runs DailyVolume on 1 date (${D}), OrderTotals on 1 date (${D}), ` +
          `and 2 dependants where results change: UserBand on 1 date (${D}), VolumeBand on 1 date (${D})`,
      );
      const json = await cli(['analyze', '--from', D_1, '--to', D, '--json', '--project', f.dir]);
      const preview = JSON.parse(json.stdout) as ImpactPreview;
      expect(preview.totals).toEqual({ run: 2, maybe: 2, skip: 6, blocked: 0, impossible: 0 });
      expect(cell(preview, 'OrderTotals', D).causes).toEqual([{ kind: 'data', table: 'orders' }]);

      // `analyze --date` answers as before
      const one = await cli(['analyze', '--date', D, '--json', '--project', f.dir]);
      expect(
        (JSON.parse(one.stdout) as Array<{ computation: string; prediction: string }>).map((r) => [
          r.computation,
          r.prediction,
        ]),
      ).toEqual([
        ['DailyVolume', 'run'],
        ['OrderTotals', 'run'],
        ['SignupInfo', 'skip'],
        ['UserBand', 'maybe'],
        ['VolumeBand', 'maybe'],
      ]);

      const after = await f.open();
      expect((await after.store.readAll()).length).toBe(before);
      await f.close();
    });

    it('`graph --from --to` marks what the preview would run', async () => {
      const r = await cli(['graph', '--from', D_1, '--to', D, '--project', f.dir]);
      expect(r.code).toBe(0);
      expect(r.stdout).toContain('impact of runs from 2026-01-09 to 2026-01-10 (2 dates)');
      expect(r.stdout).toContain('  OrderTotals (per-entity)  [run] runs on 1 of 2 dates');
      expect(r.stdout).toContain(
        '  UserBand (per-entity) <- OrderTotals  [maybe] runs on 0 of 2 dates, maybe on 1',
      );
      expect(r.stdout).toContain('  SignupInfo (per-entity)  [skip] runs on 0 of 2 dates');
    });

    it('bad usage exits 2 naming what is wrong', async () => {
      const noTo = await cli(['analyze', '--from', D_1, '--project', f.dir]);
      expect(noTo.code).toBe(2);
      expect(noTo.stderr).toContain('--to is required (YYYY-MM-DD)');
      const both = await cli([
        'analyze',
        '--date',
        D,
        '--from',
        D_1,
        '--to',
        D,
        '--project',
        f.dir,
      ]);
      expect(both.code).toBe(2);
      expect(both.stderr).toContain('give --date, or --from and --to, not both');
      const backwards = await cli(['analyze', '--from', D, '--to', D_1, '--project', f.dir]);
      expect(backwards.code).toBe(2);
      expect(backwards.stderr).toContain(`from (${D}) is after to (${D_1})`);
      const format = await cli(['graph', '--format', 'png', '--project', f.dir]);
      expect(format.code).toBe(2);
      expect(format.stderr).toContain('--format "png" is not one of mermaid, dot, text');
    });
  });
});
