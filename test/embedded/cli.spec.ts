import { main } from '../../apps/cli/src/main';
import { computation, D, Fixture } from './fixture';

/** Runs the CLI in-process and captures what it writes. */
async function cli(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  let stdout = '';
  let stderr = '';
  const out = jest
    .spyOn(process.stdout, 'write')
    .mockImplementation((chunk: string | Uint8Array) => {
      stdout += String(chunk);
      return true;
    });
  const err = jest
    .spyOn(process.stderr, 'write')
    .mockImplementation((chunk: string | Uint8Array) => {
      stderr += String(chunk);
      return true;
    });
  try {
    return { code: await main(args), stdout, stderr };
  } finally {
    out.mockRestore();
    err.mockRestore();
  }
}

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

  it('an unknown option exits 2 naming it', async () => {
    const r = await cli(['run', '--date', D, '--bogus', '--project', f.dir]);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain("almanac run: Unknown option '--bogus'");
    expect(r.stderr).toContain('usage: almanac run --date YYYY-MM-DD');
  });

  it('an impossible date exits 2', async () => {
    const r = await cli(['run', '--date', '2026-02-30', '--project', f.dir]);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('--date "2026-02-30" is not a date as YYYY-MM-DD');
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
});
