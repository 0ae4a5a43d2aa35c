import { serveEmbedded, type ServedApi } from '@almanac/embedded';
import { cli } from './cli-harness';
import { computation, D, D_1, Fixture, STANDARD_FILES } from './fixture';

/** Fails for u2 on every date: a backfill of it fails every date. */
const FLAKY = computation({
  className: 'Flaky',
  config: { name: 'Flaky', type: 'per-entity' },
  body: `    if (ctx.entityId === 'u2') throw new Error('u2 is broken');
    return { ok: true };`,
});

type BackfillJson = {
  backfillId: string;
  status: string;
  counts: Record<string, number>;
  dates: Record<string, { status: string; runId: string }>;
};

describe('almanac backfill', () => {
  let f: Fixture;
  let api: ServedApi | undefined;
  beforeEach(async () => {
    f = await Fixture.create({ files: { ...STANDARD_FILES, 'flaky.ts': FLAKY } });
    f.writeConfigFile();
    f.loadNewCode();
  });
  afterEach(async () => {
    await api?.close();
    api = undefined;
    await f.cleanup();
  });

  it('runs every date, waits for the end, and skips every date the second time', async () => {
    const args = ['backfill', '--from', D_1, '--to', D, '-c', 'UserBand', '--project', f.dir];
    const first = await cli([...args, '--json']);
    expect(first.code).toBe(0);
    const view = JSON.parse(first.stdout) as BackfillJson;
    expect(view).toMatchObject({
      status: 'completed',
      counts: { requested: 2, completed: 2, skipped: 0, failed: 0 },
    });
    const second = await cli([...args, '--concurrency', '1']);
    expect(second.code).toBe(0);
    expect(second.stdout).toMatch(new RegExp(`${D_1}\\s+skipped\\s+bf-\\S+-${D_1}`));
    expect(second.stdout).toContain(
      '[########################] 2/2 dates: 0 completed, 2 skipped, 0 failed; 0 running',
    );
    // progress on stderr (not a terminal here: one line per date that ended)
    expect(second.stderr).toMatch(new RegExp(`  ${D}: skipped \\(run bf-\\S+-${D}\\)`));
  });

  it('exits 1 when a date failed', async () => {
    const r = await cli(['backfill', '--from', D_1, '--to', D, '-c', 'Flaky', '--project', f.dir]);
    expect(r.code).toBe(1);
    expect(r.stdout).toMatch(new RegExp(`${D}\\s+failed`));
    expect(r.stdout).toContain(': failed\n');
  });

  it('--dry-run prints the range impact preview of analyze --from/--to and appends nothing', async () => {
    const args = ['--from', D_1, '--to', D, '-c', 'UserBand', '--project', f.dir];
    const dry = await cli(['backfill', ...args, '--dry-run']);
    const analyze = await cli(['analyze', ...args]);
    expect(dry.code).toBe(0);
    expect(analyze.code).toBe(0);
    expect(dry.stdout).toContain('UserBand');
    expect(dry.stdout).toBe(analyze.stdout);
    const json = await cli(['backfill', ...args, '--dry-run', '--json']);
    expect(JSON.parse(json.stdout)).toMatchObject({ from: D_1, to: D });
    const engine = await f.open();
    expect(await engine.store.readAll()).toEqual([]);
    await f.close();
  });

  it('--help says every option, and the command list names it', async () => {
    const help = await cli(['backfill', '--help']);
    expect(help.code).toBe(0);
    for (const option of [
      '--from',
      '--to',
      '--computation',
      '--concurrency',
      '--force',
      '--no-wait',
      '--dry-run',
      '--json',
    ])
      expect(help.stdout).toContain(option);
    expect(help.stdout).toContain('at most 3660 dates');
    expect((await cli(['--help'])).stdout).toMatch(/ backfill +run every date of a range/);
  });

  it('says what is wrong with bad usage, exits 2 and appends nothing', async () => {
    const cases: Array<[string[], string]> = [
      [['--from', D_1], '--to is required (YYYY-MM-DD)'],
      [['--from', D, '--to', D_1], `from "${D}" is after to "${D_1}"`],
      [['--from', D_1, '--to', D, '--concurrency', 'two'], '--concurrency must be a whole number'],
      [['--from', D_1, '--to', D, '--concurrency', '0'], 'concurrency 0 must be an integer from 1'],
      [['--from', D_1, '--to', D, '-c', 'Flakey'], 'unknown computation "Flakey"'],
      [['--from', D_1, '--to', D, '--no-wait'], '--no-wait needs a running `almanac serve`'],
    ];
    for (const [args, message] of cases) {
      const r = await cli(['backfill', ...args, '--project', f.dir]);
      expect([r.code, r.stderr]).toEqual([2, expect.stringContaining(message)]);
    }
    const engine = await f.open();
    expect(await engine.store.readAll()).toEqual([]);
    await f.close();
  });

  it('goes through a running almanac serve, and --no-wait prints the id', async () => {
    api = await serveEmbedded({ root: f.dir, config: f.config, port: 0 });
    const r = await cli(['backfill', '--from', D_1, '--to', D, '--json', '--project', f.dir]);
    expect(r.code).toBe(1); // Flaky fails on both dates
    const view = JSON.parse(r.stdout) as BackfillJson;
    expect(view).toMatchObject({ status: 'failed', counts: { requested: 2, failed: 2 } });
    // the server ran it
    expect((await api.engine.backfillView(view.backfillId)).status).toBe('failed');

    const noWait = await cli([
      'backfill',
      '--from',
      D_1,
      '--to',
      D,
      '-c',
      'UserBand',
      '--no-wait',
      '--project',
      f.dir,
    ]);
    expect(noWait.code).toBe(0);
    const id = noWait.stdout.trim();
    expect(id).toMatch(/^bf-\S+$/);
    expect(noWait.stderr).toContain(`through almanac serve (pid ${process.pid}`);
    // the server goes on with it after the command returned
    let status = 'running';
    for (let i = 0; i < 600 && status === 'running'; i++) {
      await new Promise((res) => setTimeout(res, 50));
      status = (await api.engine.backfillView(id)).status;
    }
    expect(status).toBe('completed');
  });
});
