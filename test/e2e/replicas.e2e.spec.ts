import { rmSync } from 'node:fs';
import { startCluster, type Cluster } from '../cluster/cluster';
import {
  E2E_DATE as DATE,
  requestRun,
  resultHashes as hashes,
  sampleWithBaseline,
  waitForRun,
} from '../cluster/e2e-run';

const TOPOLOGY = { executor: 3, worker: 3, planner: 2, api: 2 };

type TimelineEvent = { type: string; payload: Record<string, unknown> };

async function json<T>(res: Response): Promise<T> {
  if (!res.ok) throw new Error(`${res.url}: ${res.status} ${await res.text()}`);
  return (await res.json()) as T;
}

// Issue 8: N replicas of every service; any replica handles any message (DESIGN invariant 7).
describe('distributed Almanac with 3 executors, 3 workers, 2 planners, 2 apis (e2e)', () => {
  let dir: string;
  let cluster: Cluster | undefined;
  let embedded: Record<string, string | null>;

  beforeAll(async () => {
    let warehouse: string;
    ({ dir, warehouse, baseline: embedded } = await sampleWithBaseline('almanac-replicas-', 400));
    cluster = await startCluster({
      warehousePath: warehouse,
      replicas: TOPOLOGY,
      // many small batches, so that the answers of one computation reach every executor
      env: { ALMANAC_BATCH_SIZE: '50', ALMANAC_MAX_IN_FLIGHT: '4' },
    });
  }, 300_000);

  afterAll(async () => {
    await cluster?.stop();
    rmSync(dir, { recursive: true, force: true });
  }, 60_000);

  it('a run requested through one api replica completes with the result hashes of the embedded profile', async () => {
    const [api1, api2] = cluster!.apiUrls;
    const runId = await requestRun(api2, { date: DATE });
    const run = await waitForRun(api1, runId, 240_000);
    expect(run.status).toBe('completed');
    expect(hashes(run)).toEqual(embedded);
    // per-entity computations ran in several batches: their answers were spread over executors
    expect(run.computations.UserDailyActive.batchCount).toBe(8);
  }, 300_000);

  it('ten runs of one date requested together execute each (computation, date) once and leave every result intact', async () => {
    const urls = cluster!.apiUrls;
    const runIds = await Promise.all(
      Array.from({ length: 10 }, (_, i) =>
        requestRun(urls[i % urls.length], { date: DATE, force: true }),
      ),
    );
    const runs = await Promise.all(runIds.map((id) => waitForRun(urls[0], id, 480_000)));
    for (const run of runs) expect(run.status).toBe('completed');

    const started: Record<string, number> = {};
    for (const runId of runIds) {
      const { events } = await json<{ events: TimelineEvent[] }>(
        await fetch(`${urls[0]}/runs/${runId}/events`),
      );
      for (const e of events)
        if (e.type === 'ComputationStarted') {
          const key = `${e.payload.computation} attempt ${e.payload.attempt}`;
          started[key] = (started[key] ?? 0) + 1;
        }
    }
    expect(started).toEqual(
      Object.fromEntries(Object.keys(embedded).map((name) => [`${name} attempt 1`, 1])),
    );
    // every run names the same results, the embedded profile's
    for (const run of runs) expect(hashes(run)).toEqual(embedded);
    const verify = await json<{ equal: boolean }>(await fetch(`${urls[1]}/projections/verify`));
    expect(verify.equal).toBe(true);
  }, 600_000);
});
