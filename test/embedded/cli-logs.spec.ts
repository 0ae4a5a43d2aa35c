import { cli } from './cli-harness';
import { computation, D, Fixture, STANDARD_CONFIG, STANDARD_FILES } from './fixture';

const NOISY = computation({
  className: 'Noisy',
  config: { name: 'Noisy', type: 'per-entity', requires: { orders: { lookback: 0 } } },
  body: `    if (ctx.entityId === 'u1') this.log('WARN', 'u1 looks odd');
    return { n: ctx.data.orders.length };`,
});

describe('almanac CLI: --log-format', () => {
  let f: Fixture;
  beforeEach(async () => {
    f = await Fixture.create({ files: { ...STANDARD_FILES, 'noisy.ts': NOISY } });
    f.writeConfigFile(STANDARD_CONFIG);
    f.loadNewCode();
  });
  afterEach(() => f.cleanup());

  it("json: stderr carries JSON lines only, the decisions and the computations' lines with their labels; stdout the summary", async () => {
    const r = await cli([
      'run',
      '--date',
      D,
      '-c',
      'Noisy',
      '--project',
      f.dir,
      '--log-format',
      'json',
    ]);
    expect(r.code).toBe(0);
    const lines = r.stderr.trimEnd().split('\n');
    const parsed = lines.map((l) => JSON.parse(l) as Record<string, unknown>);
    for (const l of parsed) {
      expect(typeof l.severity).toBe('string');
      expect(typeof l.message).toBe('string');
    }
    const labels = (l: Record<string, unknown>) =>
      l['logging.googleapis.com/labels'] as Record<string, string>;
    const odd = parsed.find((l) => l.message === 'u1 looks odd');
    expect(odd).toMatchObject({ severity: 'WARNING' });
    expect(labels(odd!)).toMatchObject({
      service: 'worker',
      computation: 'Noisy',
      entity: 'u1',
      batch: '0',
    });
    const runId = labels(odd!).run;
    expect(runId).toMatch(/\S/);
    const completed = parsed.find((l) => l.message === 'run completed');
    expect(labels(completed!)).toMatchObject({ service: 'executor', run: runId });
    // the command's own output is unchanged
    expect(r.stdout).toContain('Noisy');
  });

  it('ALMANAC_LOG_FORMAT=json does the same; --log-format human wins over it', async () => {
    process.env.ALMANAC_LOG_FORMAT = 'json';
    try {
      const json = await cli(['run', '--date', D, '-c', 'Noisy', '--project', f.dir]);
      expect(json.stderr.split('\n')[0]).toMatch(/^\{"severity":"INFO"/);
      const human = await cli([
        'run',
        '--date',
        D,
        '-c',
        'Noisy',
        '--force',
        '--project',
        f.dir,
        '--log-format',
        'human',
      ]);
      expect(human.stderr).toContain('[WARN] [Noisy] [u1] u1 looks odd');
      expect(human.stderr).not.toContain('{"severity"');
    } finally {
      delete process.env.ALMANAC_LOG_FORMAT;
    }
  });

  it('human by default: the lines as before, no JSON', async () => {
    const r = await cli(['run', '--date', D, '-c', 'Noisy', '--project', f.dir]);
    expect(r.code).toBe(0);
    expect(r.stderr).toContain(`running ${D}`);
    expect(r.stderr).toContain('[WARN] [Noisy] [u1] u1 looks odd');
    expect(r.stderr).not.toContain('{"severity"');
  });

  it('rejects an unknown format as bad usage, and --help documents the option', async () => {
    const bad = await cli(['run', '--date', D, '--project', f.dir, '--log-format', 'xml']);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain('--log-format must be json or human, got "xml"');
    const help = await cli(['--help']);
    expect(help.stdout).toContain('--log-format human|json');
    expect(help.stdout).toContain('ALMANAC_LOG_FORMAT');
  });
});
