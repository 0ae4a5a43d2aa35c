import type { Envelope } from '@almanac/contracts';
import { ALL_COMPLETED, D, Fixture, statuses, type RunView } from './fixture';

const USERS = ['u1', 'u2', 'u3', 'u4', 'u5'];

/** ComputationStarted events of these runs, per computation (executions of each (computation, D)). */
async function executions(f: Fixture, runIds: string[]): Promise<Record<string, number>> {
  const engine = await f.open();
  const events = (await engine.store.readAll()) as Envelope[];
  await f.close();
  const counts: Record<string, number> = {};
  for (const e of events)
    if (e.type === 'ComputationStarted' && runIds.includes(e.payload.runId))
      counts[e.payload.computation] = (counts[e.payload.computation] ?? 0) + 1;
  return counts;
}

/** Every computation's results for D, as readers see them. */
async function resultsOfD(f: Fixture) {
  const out: Record<string, Record<string, unknown>> = {};
  for (const name of Object.keys(ALL_COMPLETED))
    out[name] = await f.results(name, D, [...USERS, '_global']);
  return out;
}

const decidedBy = (runs: RunView[], name: string) =>
  runs.map((r) => [r.computations[name].status, r.computations[name].reason?.code]);

// DESIGN §5 invariants 6 and 7: overlapping runs of one date never delete each other's results,
// and each (computation, date) is executed once at a time; the others wait and use its result.
describe('embedded engine: runs of one date requested together', () => {
  let f: Fixture;
  afterEach(async () => {
    await f.cleanup();
  });

  it('two forced runs sent together leave the results intact and execute each computation once', async () => {
    f = await Fixture.create();
    const first = await f.run({ date: D });
    expect(statuses(first)).toEqual(ALL_COMPLETED);
    const before = await resultsOfD(f);
    expect(Object.keys(before.OrderTotals).sort()).toEqual(USERS);

    const engine = await f.open();
    const runs = await Promise.all([
      engine.run({ date: D, force: true }),
      engine.run({ date: D, force: true }),
    ]);
    await f.close();

    for (const run of runs) expect(run.status).toBe('completed');
    // one execution per computation across both runs; the other run used its result
    expect(
      await executions(
        f,
        runs.map((r) => r.runId),
      ),
    ).toEqual({ OrderTotals: 1, UserBand: 1, DailyVolume: 1, SignupInfo: 1 });
    for (const name of Object.keys(ALL_COMPLETED)) {
      expect(decidedBy(runs, name).sort()).toEqual([
        ['completed', 'forced'],
        ['skipped', 'delegated'],
      ]);
      // both name the same result
      expect(runs[0].computations[name].resultHash).toBe(runs[1].computations[name].resultHash);
      expect(runs[0].computations[name].resultHash).toBe(first.computations[name].resultHash);
    }
    expect(await resultsOfD(f)).toEqual(before);
  });

  it('ten runs of one date requested together execute each computation once', async () => {
    f = await Fixture.create();
    const engine = await f.open();
    const runs = await Promise.all(Array.from({ length: 10 }, () => engine.run({ date: D })));
    await f.close();

    for (const run of runs) expect(run.status).toBe('completed');
    expect(
      await executions(
        f,
        runs.map((r) => r.runId),
      ),
    ).toEqual({ OrderTotals: 1, UserBand: 1, DailyVolume: 1, SignupInfo: 1 });
    const hashes = new Set(runs.map((r) => r.computations.OrderTotals.resultHash));
    expect(hashes.size).toBe(1);
    const results = await resultsOfD(f);
    expect(results.OrderTotals).toEqual({
      u1: { count: 2, total: 30 },
      u2: { count: 1, total: 5 },
      u3: { count: 1, total: 7 },
      u4: { count: 2, total: 3 },
      u5: { count: 0, total: 0 },
    });
  });

  it('a run waiting for another run whose execution fails is blocked, naming that run', async () => {
    f = await Fixture.create();
    // OrderTotals fails for every entity: the run executing it fails it, the waiting run is blocked
    f.edit(
      'order-totals.ts',
      'const rows = ctx.data.orders;',
      "throw new Error('no orders today');",
    );
    const engine = await f.open();
    const runs = await Promise.all([engine.run({ date: D }), engine.run({ date: D })]);
    await f.close();

    const executed = runs.find((r) => r.computations.OrderTotals.status === 'failed')!;
    const waited = runs.find((r) => r !== executed)!;
    expect(executed).toBeDefined();
    expect(executed.computations.OrderTotals.status).toBe('failed');
    expect(waited.computations.OrderTotals.status).toBe('blocked');
    expect(waited.computations.OrderTotals.reason).toEqual({
      code: 'delegated',
      runId: executed.runId,
      status: 'failed',
    });
  });
});
