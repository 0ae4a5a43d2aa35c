import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { RunView } from '@almanac/domain/projections';
import { EmbeddedEngine } from '@almanac/embedded';
import { loadProjectConfig, parseProjectConfig } from '@almanac/platform';
import { generateSampleData } from '../../computations/sample-data/generate';
import { REPO_ROOT, startCluster, type Cluster } from '../cluster/cluster';

const DATE = '2026-01-15';
const TOPOLOGY = { executor: 3, worker: 3, planner: 2, api: 2 };

type TimelineEvent = { type: string; payload: Record<string, unknown> };

async function json<T>(res: Response): Promise<T> {
  if (!res.ok) throw new Error(`${res.url}: ${res.status} ${await res.text()}`);
  return (await res.json()) as T;
}

async function requestRun(apiUrl: string, body: Record<string, unknown>): Promise<string> {
  const res = await fetch(`${apiUrl}/runs`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
  return (await json<{ runId: string }>(res)).runId;
}

async function waitForRun(apiUrl: string, runId: string, timeoutMs: number): Promise<RunView> {
  const deadline = Date.now() + timeoutMs;
  let last: RunView | null = null;
  while (Date.now() < deadline) {
    const res = await fetch(`${apiUrl}/runs/${runId}`);
    if (res.status === 200) {
      last = (await res.json()) as RunView;
      if (['completed', 'failed', 'rejected', 'abandoned'].includes(last.status)) return last;
    }
    await new Promise((r) => setTimeout(r, 500));
  }
  throw new Error(
    `run ${runId} did not finish within ${timeoutMs} ms; last view: ${JSON.stringify(
      last &&
        Object.values(last.computations).map(
          (c) => `${c.name} ${c.status} ${Object.keys(c.batchesDone).length}/${c.batchCount}`,
        ),
    )}`,
  );
}

const hashes = (run: RunView) =>
  Object.fromEntries(Object.values(run.computations).map((c) => [c.name, c.resultHash]));

// Issue 8: N replicas of every service; any replica handles any message (DESIGN invariant 7).
describe('distributed Almanac with 3 executors, 3 workers, 2 planners, 2 apis (e2e)', () => {
  let dir: string;
  let cluster: Cluster | undefined;
  let embedded: Record<string, string | null>;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'almanac-replicas-'));
    const warehouse = join(dir, 'warehouse.duckdb');
    await generateSampleData({ path: warehouse, users: 400, days: 3, endDate: DATE });
    const config = parseProjectConfig({
      ...loadProjectConfig(REPO_ROOT),
      warehouse: { path: warehouse },
      dataDir: join(dir, 'embedded'),
    });
    const engine = await EmbeddedEngine.open({ root: REPO_ROOT, config });
    embedded = hashes(await engine.run({ date: DATE }));
    await engine.close();
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
