import { createSqliteEventStore } from '@almanac/eventlog';
import { serveEmbedded } from '@almanac/embedded';
import { parseProjectConfig, projectPaths, type ProjectConfigInput } from '@almanac/platform';
import { cli, waitFor } from './cli-harness';
import { D, Fixture, STANDARD_CONFIG } from './fixture';

// the slot of 2026-01-11 02:00 UTC runs D = 2026-01-10 (the day before the slot)
const SLOT = '2026-01-11T02:00:30Z';
const RUN = 'sched-20260111T0200Z-2026-01-10';
const config = (scheduler: ProjectConfigInput['scheduler']): ProjectConfigInput => ({
  ...STANDARD_CONFIG,
  scheduler,
});

describe('almanac schedule', () => {
  let f: Fixture;
  const events = async () => {
    const store = createSqliteEventStore(projectPaths(f.dir, f.config).eventLog);
    try {
      return await store.readAll();
    } finally {
      await store.close();
    }
  };

  afterEach(async () => {
    await f.cleanup();
  });

  it('given a slot due at --at, when ticked twice, then one run is requested and run, and the second tick appends nothing', async () => {
    f = await Fixture.create({ config: config({ catchUpHours: 0 }) });
    f.writeConfigFile(config({ catchUpHours: 0 }));
    f.loadNewCode();
    const first = await cli(['schedule', 'tick', '--at', SLOT, '--project', f.dir, '--json']);
    expect(first.stderr).toBe('');
    expect(first.code).toBe(0);
    const r = JSON.parse(first.stdout) as {
      requested: Array<{ runId: string; date: string; targets: string[] }>;
    };
    expect(r.requested.map((x) => [x.runId, x.date])).toEqual([[RUN, D]]);
    expect(r.requested[0].targets.length).toBeGreaterThan(0);
    const log = await events();
    // the run ran in the CLI's process before it exited
    expect(log.filter((e) => e.correlationId === RUN).map((e) => e.type)).toContain('RunCompleted');

    const second = await cli(['schedule', 'tick', '--at', SLOT, '--project', f.dir]);
    expect(second.code).toBe(0);
    expect(second.stdout).toBe(
      `nothing to request at 2026-01-11T02:00:30.000Z (1 due run(s) already requested)\n`,
    );
    expect((await events()).length).toBe(log.length);
  });

  it('given a paused computation, then list says so, the tick leaves it out, and resume brings it back', async () => {
    f = await Fixture.create({ config: config({ catchUpHours: 0 }) });
    f.writeConfigFile(config({ catchUpHours: 0 }));
    f.loadNewCode();
    const p = await cli([
      'schedule',
      'pause',
      'OrderTotals',
      '--reason',
      'late orders',
      '--project',
      f.dir,
    ]);
    expect([p.code, p.stdout]).toEqual([0, 'OrderTotals: schedule paused\n']);
    expect((await cli(['schedule', 'pause', 'OrderTotals', '--project', f.dir])).stdout).toBe(
      'OrderTotals: already paused\n',
    );
    const list = await cli([
      'schedule',
      'list',
      '--at',
      '2026-01-11T01:00:00Z',
      '--project',
      f.dir,
    ]);
    expect(list.stdout).toMatch(
      /^OrderTotals +daily 02:00 UTC +paused since \d{4}-\d\d-\d\d \d\d:\d\dZ by cli \(late orders\) +2026-01-11 02:00Z \(2026-01-10\), 2026-01-12 02:00Z \(2026-01-11\), 2026-01-13 02:00Z \(2026-01-12\)$/m,
    );
    const tick = JSON.parse(
      (await cli(['schedule', 'tick', '--at', SLOT, '--project', f.dir, '--json'])).stdout,
    ) as { requested: Array<{ targets: string[] }> };
    expect(tick.requested).toHaveLength(1);
    expect(tick.requested[0].targets).not.toContain('OrderTotals');
    expect((await cli(['schedule', 'resume', 'OrderTotals', '--project', f.dir])).stdout).toBe(
      'OrderTotals: schedule resumed\n',
    );
    const json = JSON.parse(
      (await cli(['schedule', 'list', '--project', f.dir, '--json'])).stdout,
    ) as Array<{ computation: string; paused: unknown }>;
    expect(json.find((row) => row.computation === 'OrderTotals')?.paused).toBeNull();
  });

  it('given availableAfter, then list says which date waits until when, and the tick requests it once available', async () => {
    const cfg = config({
      catchUpHours: 0,
      schedule: { availableAfter: { days: 1, time: '06:00' } },
    });
    f = await Fixture.create({ config: cfg });
    f.writeConfigFile(cfg);
    f.loadNewCode();
    const list = await cli([
      'schedule',
      'list',
      '--at',
      '2026-01-11T03:00:00Z',
      '--project',
      f.dir,
    ]);
    expect(list.stdout).toMatch(
      /^OrderTotals +daily 02:00 UTC +waiting for data of 2026-01-10 until 2026-01-11 06:00 UTC /m,
    );
    const early = JSON.parse(
      (
        await cli([
          'schedule',
          'tick',
          '--at',
          '2026-01-11T03:00:00Z',
          '--project',
          f.dir,
          '--json',
        ])
      ).stdout,
    ) as { requested: unknown[]; waiting: Array<{ message: string }> };
    expect(early.requested).toEqual([]);
    expect(early.waiting[0].message).toBe(
      'waiting for data of 2026-01-10 until 2026-01-11 06:00 UTC',
    );
    const onTime = JSON.parse(
      (
        await cli([
          'schedule',
          'tick',
          '--at',
          '2026-01-11T06:00:10Z',
          '--project',
          f.dir,
          '--json',
        ])
      ).stdout,
    ) as { requested: Array<{ runId: string }> };
    expect(onTime.requested.map((x) => x.runId)).toEqual(['sched-20260111T0600Z-2026-01-10']);
  });

  it('refuses bad input with exit 2 and names what is wrong', async () => {
    f = await Fixture.create();
    f.writeConfigFile();
    f.loadNewCode();
    const bad = await cli(['schedule', 'tick', '--at', 'yesterday', '--project', f.dir]);
    expect([bad.code, bad.stderr.split('\n')[0]]).toEqual([
      2,
      'almanac schedule: --at "yesterday" is not an ISO time with a zone (e.g. 2026-12-01T02:00:00Z)',
    ]);
    const unknown = await cli(['schedule', 'pause', 'OrderTotal', '--project', f.dir]);
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toContain(
      'unknown computation "OrderTotal" (did you mean "OrderTotals"?)',
    );
    expect((await cli(['schedule', 'pause', '--project', f.dir])).stderr).toContain(
      'schedule pause needs a COMPUTATION',
    );
    expect((await cli(['schedule', 'stop', '--project', f.dir])).stderr).toContain(
      'unknown action "stop": use list, tick, pause, resume',
    );
  });

  it('given almanac serve holds the project, then schedule tick and pause go through its api; a second tick appends nothing', async () => {
    const cfg = config({ catchUpHours: 0 });
    f = await Fixture.create({ config: cfg });
    f.writeConfigFile(cfg);
    f.loadNewCode();
    const served = await serveEmbedded({ root: f.dir, config: parseProjectConfig(cfg), port: 0 });
    try {
      expect((await cli(['schedule', 'pause', 'OrderTotals', '--project', f.dir])).stdout).toBe(
        'OrderTotals: schedule paused\n',
      );
      const t1 = await cli(['schedule', 'tick', '--at', SLOT, '--project', f.dir, '--json']);
      expect(t1.code).toBe(0);
      const r1 = JSON.parse(t1.stdout) as {
        requested: Array<{ runId: string; targets: string[] }>;
      };
      expect(r1.requested.map((x) => x.runId)).toEqual([RUN]);
      expect(r1.requested[0].targets).not.toContain('OrderTotals');
      const t2 = JSON.parse(
        (await cli(['schedule', 'tick', '--at', SLOT, '--project', f.dir, '--json'])).stdout,
      ) as { requested: unknown[]; alreadyRequested: number };
      expect(t2).toMatchObject({ requested: [], alreadyRequested: 1 });
      const rows = JSON.parse(
        (await cli(['schedule', 'list', '--project', f.dir, '--json'])).stdout,
      ) as Array<{ computation: string; paused: { by: string } | null }>;
      expect(rows.find((x) => x.computation === 'OrderTotals')?.paused?.by).toBe('anonymous');
    } finally {
      await served.close();
    }
    const requested = (await events()).filter((e) => e.type === 'RunRequested');
    expect(requested.map((e) => e.eventId)).toEqual([`RunRequested:${RUN}`]);
  });

  it('given almanac serve with a tick interval, then it ticks on its own from the start: the last daily 02:00 slot is requested', async () => {
    const cfg = config({ catchUpHours: 24 });
    f = await Fixture.create({ config: cfg });
    f.loadNewCode();
    const served = await serveEmbedded({
      root: f.dir,
      config: parseProjectConfig(cfg),
      port: 0,
      tickIntervalMs: 3_600_000,
    });
    try {
      const scheduled = await waitFor(
        () => 'a scheduled RunRequested',
        30_000,
        async () =>
          (await served.engine.store.readAll()).find(
            (e) => e.type === 'RunRequested' && e.payload.trigger === 'schedule',
          ) ?? null,
      );
      expect(scheduled.eventId).toMatch(/^RunRequested:sched-\d{8}T0200Z-\d{4}-\d{2}-\d{2}$/);
    } finally {
      await served.close();
    }
  });
});
