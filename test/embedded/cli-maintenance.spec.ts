import { cli } from './cli-harness';
import { D, Fixture } from './fixture';

const DAY_MS = 86_400_000;

// Given a project run for D through the CLI: `almanac invalidate` and `almanac retention`
// (ADR 0018).
describe('almanac invalidate and almanac retention', () => {
  let f: Fixture;
  beforeEach(async () => {
    f = await Fixture.create();
    f.writeConfigFile();
    f.loadNewCode();
    expect((await cli(['run', '--date', D, '--project', f.dir, '--quiet'])).code).toBe(0);
  });
  afterEach(async () => {
    await f.cleanup();
  });

  it('--help says what each does', async () => {
    const inv = await cli(['invalidate', '--help']);
    expect(inv.code).toBe(0);
    expect(inv.stdout).toContain(
      'almanac invalidate --computation NAME [--computation NAME]... --from YYYY-MM-DD [--to YYYY-MM-DD] --reason TEXT',
    );
    const ret = await cli(['retention', '--help']);
    expect(ret.code).toBe(0);
    expect(ret.stdout).toContain(
      '--dry-run    say what would be removed; append and delete nothing',
    );
    const all = await cli(['--help']);
    expect(all.stdout).toMatch(/^ {2}invalidate +taint results/m);
    expect(all.stdout).toMatch(/^ {2}retention +remove results of dates older/m);
  });

  it('invalidate taints, is recorded once, re-runs on the next run, and shows in explain and audit', async () => {
    const args = ['invalidate', '-c', 'OrderTotals', '--from', D, '--reason', 'orders reloaded'];
    const first = await cli([...args, '--project', f.dir]);
    expect(first.code).toBe(0);
    expect(first.stdout).toMatch(
      new RegExp(
        `^invalidated OrderTotals for ${D}\\.\\.${D} \\(inv-[0-9a-f]{24}\\): 1 result tainted, re-run on their next run$`,
        'm',
      ),
    );
    const again = await cli([...args, '--project', f.dir, '--json']);
    expect(JSON.parse(again.stdout)).toMatchObject({ replayed: true, tainted: 1 });

    const audit = await cli(['audit', '-c', 'OrderTotals', '--date', D, '--project', f.dir]);
    expect(audit.stdout).toContain('(tainted by ');
    expect(audit.stdout).toMatch(
      new RegExp(`invalidated ${D}\\.\\.${D} at .* by .*: orders reloaded`),
    );

    const run = await cli(['run', '--date', D, '--project', f.dir, '--json']);
    const view = JSON.parse(run.stdout) as {
      computations: Record<string, { status: string; reason: unknown }>;
    };
    expect(view.computations.OrderTotals).toMatchObject({
      status: 'completed',
      reason: { code: 'changed', changed: ['tainted'] },
    });
    expect(view.computations.UserBand.status).toBe('skipped');
    const explain = await cli(['explain', '-c', 'OrderTotals', '--date', D, '--project', f.dir]);
    expect(explain.stdout).toContain('reason: changed: tainted');
    expect(explain.stdout).toMatch(/invalidated at .* by .*: orders reloaded/);
  });

  it('invalidate refuses bad input naming every problem, with exit 2 and the usage', async () => {
    const r = await cli([
      'invalidate',
      '-c',
      'OrderTotal',
      '--from',
      '2026-01-32',
      '--to',
      D,
      '--project',
      f.dir,
    ]);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('unknown computation "OrderTotal" (did you mean "OrderTotals"?)');
    expect(r.stderr).toContain('from "2026-01-32" is not a calendar date as YYYY-MM-DD');
    expect(r.stderr).toContain('a reason is required');
    expect(r.stderr).toContain('usage: almanac invalidate');
    const run = await cli(['run', '--date', D, '--project', f.dir, '--json']);
    expect(JSON.parse(run.stdout).computations.OrderTotals.status).toBe('skipped');
  });

  it('retention --dry-run says what it would remove; retention removes it once', async () => {
    const asOf = new Date(Date.now() + 400 * DAY_MS).toISOString();
    const dry = await cli(['retention', '--dry-run', '--as-of', asOf, '--project', f.dir]);
    expect(dry.code).toBe(0);
    expect(dry.stdout).toContain(
      `would expire OrderTotals ${D}: 1 version (the current result included)`,
    );
    const done = await cli(['retention', '--as-of', asOf, '--project', f.dir]);
    expect(done.stdout).toContain(
      `expired OrderTotals ${D}: 1 version (the current result included)`,
    );
    const again = await cli(['retention', '--as-of', asOf, '--project', f.dir, '--json']);
    expect(JSON.parse(again.stdout)).toMatchObject({ expired: [], deleted: [] });
    const bad = await cli(['retention', '--as-of', 'soon', '--project', f.dir]);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain('--as-of "soon" is not a timestamp');
    // the expired date runs again as a first run
    const run = await cli(['run', '--date', D, '--project', f.dir, '--json']);
    expect(JSON.parse(run.stdout).computations.OrderTotals.reason).toEqual({ code: 'first-run' });
  });
});
