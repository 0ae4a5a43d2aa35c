import * as fs from 'node:fs';
import * as path from 'node:path';
import { createSqliteEventStore } from '@almanac/eventlog';
import { projectPaths } from '@almanac/platform';
import { badRunRequests } from './bad-run-requests';
import { cli } from './cli-harness';
import { computation, D, Fixture, STANDARD_CONFIG, STANDARD_DATA } from './fixture';

const flaky = computation({
  className: 'Flaky',
  config: { name: 'Flaky', type: 'per-entity', requires: { orders: { lookback: 0 } } },
  body: "    if (ctx.entityId === 'u3') throw new Error('u3 is broken');\n    return { n: ctx.data.orders.length };",
});

describe('almanac CLI over a project folder', () => {
  let f: Fixture;
  beforeEach(async () => {
    f = await Fixture.create();
    f.writeConfigFile();
  });
  afterEach(async () => {
    await f.cleanup();
  });

  it('--help exits 0 and lists the commands', async () => {
    const r = await cli(['--help']);
    expect(r.code).toBe(0);
    for (const name of ['run', 'analyze', 'status', 'explain', 'sample-data', 'start'])
      expect(r.stdout).toMatch(new RegExp(`^  ${name} +\\S`, 'm'));
    expect(r.stdout).toContain(
      'exit codes: 0 ok, 1 a computation failed or the run was rejected, 2 bad usage',
    );
  });

  it('run --help says what --force and --force-upstream re-run', async () => {
    const r = await cli(['run', '--help']);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('[--force | --force-upstream]');
    expect(r.stdout).toMatch(
      /--force +re-run the named computations \(every computation without --computation\)/,
    );
    expect(r.stdout).toMatch(
      /--force-upstream +re-run the named computations and every computation they depend on/,
    );
  });

  it('run --force re-runs the named computation only, --force-upstream its dependencies too; analyze predicts the same', async () => {
    f.loadNewCode();
    expect((await cli(['run', '--date', D, '--project', f.dir])).code).toBe(0);
    type Run = { forceUpstream: boolean; computations: Record<string, { status: string }> };
    const run = async (...flags: string[]) => {
      const r = await cli([
        'run',
        '--date',
        D,
        '-c',
        'UserBand',
        ...flags,
        '--json',
        '--project',
        f.dir,
      ]);
      expect(r.code).toBe(0);
      const view = JSON.parse(r.stdout) as Run;
      return Object.fromEntries(Object.entries(view.computations).map(([n, c]) => [n, c.status]));
    };
    const analyze = async (...flags: string[]) => {
      const r = await cli([
        'analyze',
        '--date',
        D,
        '-c',
        'UserBand',
        ...flags,
        '--json',
        '--project',
        f.dir,
      ]);
      const rows = JSON.parse(r.stdout) as Array<{ computation: string; prediction: string }>;
      return Object.fromEntries(rows.map((row) => [row.computation, row.prediction]));
    };
    expect(await analyze('--force')).toEqual({ OrderTotals: 'skip', UserBand: 'run' });
    expect(await run('--force')).toEqual({ OrderTotals: 'skipped', UserBand: 'completed' });
    expect(await analyze('--force-upstream')).toEqual({ OrderTotals: 'run', UserBand: 'run' });
    expect(await run('--force-upstream')).toEqual({
      OrderTotals: 'completed',
      UserBand: 'completed',
    });
  });

  it('an unknown option exits 2 naming it', async () => {
    const r = await cli(['run', '--date', D, '--bogus', '--project', f.dir]);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain("almanac run: Unknown option '--bogus'");
    expect(r.stderr).toContain('usage: almanac run --date YYYY-MM-DD');
  });

  describe('a run request that breaks the rules of every entry point (issue 9, item 3)', () => {
    /** events in the project's log (none before it exists) */
    async function logSize(): Promise<number> {
      const file = projectPaths(f.dir, f.config).eventLog;
      if (!fs.existsSync(file)) return 0;
      const store = createSqliteEventStore(file);
      try {
        return (await store.readAll()).length;
      } finally {
        await store.close();
      }
    }

    it.each(
      badRunRequests(['DailyVolume', 'OrderTotals', 'SignupInfo', 'UserBand']).map(
        (r) => [r.what, r] as const,
      ),
    )("run with %s exits 2 with the api's message and appends nothing", async (_, bad) => {
      f.loadNewCode();
      const before = await logSize();
      const r = await cli(['run', ...bad.cli, '--project', f.dir]);
      expect(r.stderr).toContain(`almanac run: ${bad.message}\nusage: almanac run --date`);
      expect(r.code).toBe(2);
      expect(await logSize()).toBe(before);
    });

    it('analyze refuses what run refuses, with the same message', async () => {
      f.loadNewCode();
      const r = await cli(['analyze', '--date', '9999-12-31', '--project', f.dir]);
      expect(r.code).toBe(2);
      expect(r.stderr).toContain(
        `almanac analyze: ${badRunRequests([]).find((b) => b.what === 'year 9999')!.message}\n`,
      );
    });

    it('the other commands name the option of a date that is not a calendar date', async () => {
      const r = await cli(['status', '--date', '2026-02-30', '--project', f.dir]);
      expect(r.code).toBe(2);
      expect(r.stderr).toContain('--date "2026-02-30" is not a calendar date as YYYY-MM-DD');
    });
  });

  it('serve --allowed-origin with a path is refused naming the entry, before anything listens', async () => {
    const r = await cli([
      'serve',
      '--port',
      '0',
      '--allowed-host',
      'almanac.test',
      '--allowed-origin',
      'https://dash.example.com/app',
      '--project',
      f.dir,
    ]);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(
      'almanac serve: --allowed-origin "https://dash.example.com/app" is not an origin',
    );
    expect(r.stdout).not.toContain('listening');
  });

  it('a run exits 0, a run with a failing entity exits 1, and status --json prints the statuses', async () => {
    f.loadNewCode();
    const ok = await cli(['run', '--date', D, '--project', f.dir]);
    expect(ok.code).toBe(0);

    f.write('flaky.ts', flaky);
    f.loadNewCode();
    const failed = await cli(['run', '--date', D, '--project', f.dir]);
    expect(failed.code).toBe(1);

    const status = await cli(['status', '--json', '--project', f.dir]);
    expect(status.code).toBe(0);
    const rows = JSON.parse(status.stdout) as Array<{
      computation: string;
      date: string;
      status: string;
      failedEntities: string[];
      entities: number | null;
    }>;
    expect(rows.map((r) => [r.computation, r.date, r.status])).toEqual([
      ['DailyVolume', D, 'skipped'],
      ['Flaky', D, 'failed'],
      ['OrderTotals', D, 'skipped'],
      ['SignupInfo', D, 'skipped'],
      ['UserBand', D, 'skipped'],
    ]);
    expect(rows.find((r) => r.computation === 'Flaky')).toMatchObject({
      failedEntities: ['u3'],
      entities: 5,
    });
  });

  it('start --json on a fresh project generates the sample data and prints one JSON document, the run', async () => {
    // a sample-data module that writes the standard tables
    fs.writeFileSync(
      path.join(f.dir, 'sample.js'),
      `const { DuckDBInstance } = require(${JSON.stringify(require.resolve('@duckdb/node-api'))});
exports.generateSampleData = async ({ path }) => {
  const db = await DuckDBInstance.create(path);
  const c = await db.connect();
  for (const s of ${JSON.stringify(STANDARD_DATA)}) await c.run(s);
  c.closeSync();
  db.closeSync();
  return { tables: { users: 5, orders: 6 } };
};
`,
    );
    f.writeConfigFile({
      ...STANDARD_CONFIG,
      sample: { module: 'sample.js', date: D, users: 5, days: 2 },
    });
    fs.rmSync(f.warehousePath);
    f.loadNewCode();
    const r = await cli(['start', '--json', '--project', f.dir]);
    expect(r.code).toBe(0);
    const run = JSON.parse(r.stdout) as { date: string; status: string };
    expect(run).toMatchObject({ date: D, status: 'completed' });
    expect(fs.existsSync(f.warehousePath)).toBe(true);
  });

  it('status names the first five failed entities with their errors, and how many more failed', async () => {
    await f.sql(
      `INSERT INTO users VALUES ('u6','2026-01-01'),('u7','2026-01-01'),('u8','2026-01-01')`,
    );
    f.write(
      'broken.ts',
      computation({
        className: 'Broken',
        config: { name: 'Broken', type: 'per-entity' },
        body: "    if (ctx.entityId !== 'u8') throw new Error(`${ctx.entityId} is broken`);\n    return {};",
      }),
    );
    f.loadNewCode();
    expect((await cli(['run', '--date', D, '--project', f.dir])).code).toBe(1);
    const r = await cli(['status', '--project', f.dir]);
    expect(r.stdout).toMatch(
      /^Broken +\d+ +per-entity +failed +\S+ +7 of 8 entities failed: u1 \(u1 is broken\), u2 \(u2 is broken\), u3 \(u3 is broken\), u4 \(u4 is broken\), u5 \(u5 is broken\) and 2 more$/m,
    );
    const rows = JSON.parse((await cli(['status', '--json', '--project', f.dir])).stdout) as Array<{
      computation: string;
      failures: Array<{ entityId: string; message: string }>;
    }>;
    expect(rows.find((row) => row.computation === 'Broken')!.failures).toEqual(
      ['u1', 'u2', 'u3', 'u4', 'u5'].map((id) => ({ entityId: id, message: `${id} is broken` })),
    );
  });

  it('replay, audit, projections verify|rebuild and status --as-of answer from the log', async () => {
    f.loadNewCode();
    const first = await cli(['run', '--date', D, '--json', '--project', f.dir]);
    const firstRun = (JSON.parse(first.stdout) as { runId: string }).runId;
    const between = new Date().toISOString();
    await new Promise((res) => setTimeout(res, 20));
    const forced = await cli([
      'run',
      '--date',
      D,
      '--computation',
      'OrderTotals',
      '--force',
      '--json',
      '--project',
      f.dir,
    ]);
    const forcedRun = (JSON.parse(forced.stdout) as { runId: string }).runId;

    // replay: the run's timeline, first and last event
    const replay = await cli(['replay', '--run', firstRun, '--project', f.dir]);
    expect(replay.code).toBe(0);
    const lines = replay.stdout.trim().split('\n');
    expect(lines[0]).toMatch(
      /RunRequested +run requested by cli for 2026-01-10: every computation/,
    );
    expect(lines.at(-1)).toMatch(/RunCompleted +run completed in \d+ ms/);
    expect(replay.stdout).toMatch(/ComputationCompleted +UserBand completed: first run/);
    const unknown = await cli(['replay', '--run', 'nope', '--project', f.dir]);
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toContain('unknown run "nope"');

    // audit: UserBand's result came from the first run, from OrderTotals' first result
    const audit = await cli([
      'audit',
      '--computation',
      'UserBand',
      '--date',
      D,
      '--json',
      '--project',
      f.dir,
    ]);
    expect(audit.code).toBe(0);
    const lineage = JSON.parse(audit.stdout) as {
      runId: string;
      decisions: Array<{ runId: string; status: string }>;
      dependencies: Array<{ name: string; resultHash: string; lineage: { runId: string } | null }>;
    };
    expect(lineage.runId).toBe(firstRun);
    // the forced run targeted OrderTotals alone: UserBand has one decision
    expect(lineage.decisions.map((d) => [d.runId, d.status])).toEqual([[firstRun, 'completed']]);
    // the forced re-run produced the same OrderTotals result, so the lineage still holds
    expect(lineage.dependencies).toEqual([
      expect.objectContaining({
        name: 'OrderTotals',
        lineage: expect.objectContaining({ runId: forcedRun }),
      }),
    ]);
    const text = await cli(['audit', '--computation', 'UserBand', '--date', D, '--project', f.dir]);
    expect(text.stdout).toContain(`UserBand ${D}: result`);
    expect(text.stdout).toContain('depends on OrderTotals result');

    // status --as-of: before the forced run, OrderTotals' latest decision was the first run's
    const asOf = await cli(['status', '--as-of', between, '--json', '--project', f.dir]);
    const rows = JSON.parse(asOf.stdout) as Array<{ computation: string; runId: string }>;
    expect(rows.find((r) => r.computation === 'OrderTotals')!.runId).toBe(firstRun);
    const now = JSON.parse(
      (await cli(['status', '--json', '--project', f.dir])).stdout,
    ) as typeof rows;
    expect(now.find((r) => r.computation === 'OrderTotals')!.runId).toBe(forcedRun);
    const bad = await cli(['status', '--as-of', 'yesterday', '--project', f.dir]);
    expect(bad.code).toBe(2);

    // when OrderTotals' result changes in a run that leaves UserBand alone, the audit says the
    // result UserBand used has been replaced, and by which run it was last produced
    await f.sql(`UPDATE orders SET amount = 99 WHERE order_id = 2`);
    await cli(['run', '--date', D, '--computation', 'OrderTotals', '--project', f.dir]);
    const later = JSON.parse(
      (await cli(['audit', '-c', 'UserBand', '--date', D, '--json', '--project', f.dir])).stdout,
    ) as typeof lineage & { dependencies: Array<{ replaced: boolean; producedBy: string }> };
    expect(later.dependencies[0]).toMatchObject({
      name: 'OrderTotals',
      replaced: true,
      producedBy: forcedRun,
      lineage: null,
    });

    // projections: verify equal, rebuild, verify equal again
    const verify = await cli(['projections', 'verify', '--project', f.dir]);
    expect(verify.code).toBe(0);
    expect(verify.stdout).toMatch(/^equal: the live views match a rebuild from \d+ events/);
    const rebuild = await cli(['projections', 'rebuild', '--json', '--project', f.dir]);
    expect(JSON.parse(rebuild.stdout)).toMatchObject({ events: expect.any(Number) });
    expect((await cli(['projections', 'verify', '--project', f.dir])).code).toBe(0);
    const wrong = await cli(['projections', 'polish', '--project', f.dir]);
    expect(wrong.code).toBe(2);
    expect(wrong.stderr).toContain('unknown action "polish": use rebuild or verify');
  });
});
