import type { Envelope } from '@almanac/contracts';
import { serveEmbedded, type ServedApi } from '@almanac/embedded';
import { ALL_COMPLETED, D, Fixture } from '../embedded/fixture';

const USERS = ['u1', 'u2', 'u3', 'u4', 'u5'];

// Issue 8: with `almanac serve` running, two POST /runs for one date sent together (forced, as after
// a code change) leave every result of the date intact and execute each computation once.
describe('almanac serve: two POST /runs for one date sent together', () => {
  let f: Fixture;
  let api: ServedApi;

  beforeAll(async () => {
    f = await Fixture.create();
    f.loadNewCode();
    api = await serveEmbedded({ root: f.dir, config: f.config, port: 0, env: {} });
  });
  afterAll(async () => {
    await api?.close();
    await f?.cleanup();
  });

  const post = async (body: unknown) => {
    const res = await fetch(`${api.url}/runs`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(body),
    });
    expect(res.status).toBe(202);
    return ((await res.json()) as { runId: string }).runId;
  };
  const finished = async (runId: string) => {
    for (let i = 0; i < 600; i++) {
      const run = (await (await fetch(`${api.url}/runs/${runId}`)).json()) as {
        status: string;
        computations: Record<string, { status: string; reason: { code: string } | null }>;
      };
      if (['completed', 'failed', 'rejected', 'abandoned'].includes(run.status)) return run;
      await new Promise((r) => setTimeout(r, 50));
    }
    throw new Error(`run ${runId} did not finish`);
  };
  const resultsOfD = async () =>
    Object.fromEntries(
      await Promise.all(
        Object.keys(ALL_COMPLETED).map(
          async (name) =>
            [
              name,
              Object.fromEntries(await api.engine.readResults(name, D, [...USERS, '_global'])),
            ] as const,
        ),
      ),
    );

  it('keeps the results of the date and executes each computation once', async () => {
    const first = await finished(await post({ date: D }));
    expect(first.status).toBe('completed');
    const before = await resultsOfD();
    expect(Object.keys(before.OrderTotals)).toHaveLength(5);

    const ids = await Promise.all([post({ date: D, force: true }), post({ date: D, force: true })]);
    const runs = await Promise.all(ids.map(finished));
    for (const run of runs) expect(run.status).toBe('completed');

    const started: Record<string, number> = {};
    for (const e of (await api.engine.store.readAll()) as Envelope[])
      if (e.type === 'ComputationStarted' && ids.includes(e.payload.runId))
        started[e.payload.computation] = (started[e.payload.computation] ?? 0) + 1;
    expect(started).toEqual({ OrderTotals: 1, UserBand: 1, DailyVolume: 1, SignupInfo: 1 });
    expect(await resultsOfD()).toEqual(before);

    const verify = (await (await fetch(`${api.url}/projections/verify`)).json()) as {
      equal: boolean;
    };
    expect(verify.equal).toBe(true);
  });
});
