import { createSqliteCheckpointStore } from '@almanac/eventlog';
import { parseProjectConfig, projectPaths } from '@almanac/platform';
import { computation, D, Fixture, STANDARD_CONFIG } from './fixture';

describe('embedded engine: the executor keeps its state in the log', () => {
  let f: Fixture;
  afterEach(async () => {
    await f.cleanup();
  });

  it('checkpoints its views on shutdown, at the log position it reached, so a start reads only the tail', async () => {
    f = await Fixture.create();
    const engine = await f.open();
    const run = await engine.run({ date: D });
    const last = (await engine.store.readAll()).at(-1)!;
    await f.close();
    expect(run.status).toBe('completed');

    const checkpoints = createSqliteCheckpointStore(projectPaths(f.dir, f.config).checkpoints);
    const saved = await checkpoints.load('executor');
    await checkpoints.close();
    expect(saved?.position).toBe(last.position);
    // the runs that are over are not kept; the hash index is
    expect(saved?.views.runs).toEqual({});
    expect(Object.keys(saved?.views.hashIndex as object).sort()).toEqual([
      `DailyVolume|${D}`,
      `OrderTotals|${D}`,
      `SignupInfo|${D}`,
      `UserBand|${D}`,
    ]);
  });

  it("bounds a batch's work by the breaker timeout: a batch that works too long is a failed try", async () => {
    f = await Fixture.create({
      files: {
        'slow.ts': computation({
          className: 'Slow',
          config: { name: 'Slow', type: 'per-entity' },
          body: `    await new Promise((r) => setTimeout(r, 400));
    return { ok: true };`,
        }),
      },
    });
    const config = parseProjectConfig({
      ...STANDARD_CONFIG,
      execution: {
        ...STANDARD_CONFIG.execution,
        breaker: { retries: 0, timeoutMs: 100 },
      },
    });
    const engine = await f.open(config);
    const run = await engine.run({ date: D });
    await f.close();
    expect(run.computations.Slow.status).toBe('failed');
    expect(run.computations.Slow.reason).toMatchObject({
      code: 'error',
      message: expect.stringContaining('batch timed out after 100 ms of work'),
    });
  });
});
