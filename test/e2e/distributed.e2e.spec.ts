import { mkdtempSync, rmSync } from 'node:fs';
import { PubSub } from '@google-cloud/pubsub';
import { Spanner } from '@google-cloud/spanner';
import { createSpannerEventStore } from '@almanac/eventlog';
import { topics } from '@almanac/contracts';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { RunView } from '@almanac/domain/projections';
import { EmbeddedEngine } from '@almanac/embedded';
import {
  loadProjectConfig,
  parseProjectConfig,
  runRequestedEvent,
  type ValidRunRequest,
} from '@almanac/platform';
import { generateSampleData } from '../../computations/sample-data/generate';
import { REPO_ROOT, startCluster, type Cluster } from '../cluster/cluster';
import { waitForRun } from '../cluster/e2e-run';

const DATE = '2026-01-15';

// The five services as separate OS processes over the Pub/Sub and Spanner emulators.
describe('distributed Almanac (e2e)', () => {
  let dir: string;
  let cluster: Cluster | undefined;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'almanac-e2e-'));
    await generateSampleData({
      path: join(dir, 'warehouse.duckdb'),
      users: 120,
      days: 3,
      endDate: DATE,
    });
    cluster = await startCluster({ warehousePath: join(dir, 'warehouse.duckdb') });
  }, 180_000);

  afterAll(async () => {
    await cluster?.stop();
    rmSync(dir, { recursive: true, force: true });
  }, 60_000);

  it('runs the example DAG requested through the api, with the result hashes of the embedded profile', async () => {
    const { apiUrl, processes } = cluster!;
    const health = await Promise.all(
      processes.map(async (s) => [s.service, (await fetch(`${s.url}/health`)).status]),
    );
    expect(Object.fromEntries(health)).toEqual({
      scheduler: 200,
      planner: 200,
      executor: 200,
      worker: 200,
      api: 200,
    });

    const bad = await fetch(`${apiUrl}/runs`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ date: '2026-02-30' }),
    });
    expect(bad.status).toBe(400);

    const res = await fetch(`${apiUrl}/runs`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ date: DATE }),
    });
    expect(res.status).toBe(202);
    const { runId } = (await res.json()) as { runId: string };
    const distributed = await waitForRun(apiUrl, runId, 150_000);
    expect(distributed.status).toBe('completed');

    // the api's other views, from the Spanner log through checkpoints kept in Spanner
    const get = async <T>(path: string): Promise<T> => {
      const r = await fetch(`${apiUrl}${path}`);
      expect(`${path} ${r.status}`).toBe(`${path} 200`);
      return (await r.json()) as T;
    };
    const timeline = await get<{ events: Array<{ type: string }> }>(`/runs/${runId}/events`);
    expect(timeline.events[0].type).toBe('RunRequested');
    expect(timeline.events.at(-1)!.type).toBe('RunCompleted');
    const computations = await get<{ computations: Array<{ latest: { status: string } }> }>(
      `/computations?date=${DATE}`,
    );
    expect(computations.computations.map((c) => c.latest.status)).toEqual(
      Array(6).fill('completed'),
    );
    const page = await get<{ runs: Array<{ runId: string }> }>('/runs?status=completed');
    expect(page.runs.map((r) => r.runId)).toContain(runId);
    const verify = await get<{ equal: boolean; differences: unknown[] }>('/projections/verify');
    expect(verify.differences).toEqual([]);
    expect(verify.equal).toBe(true);

    // the same data through the embedded profile
    const base = loadProjectConfig(REPO_ROOT);
    const config = parseProjectConfig({
      ...base,
      warehouse: { path: join(dir, 'warehouse.duckdb') },
      dataDir: join(dir, 'embedded'),
    });
    const engine = await EmbeddedEngine.open({ root: REPO_ROOT, config });
    const embedded = await engine.run({ date: DATE });
    await engine.close();

    const hashes = (run: RunView) =>
      Object.fromEntries(
        Object.values(run.computations).map((c) => [
          c.name,
          { status: c.status, resultHash: c.resultHash },
        ]),
      );
    expect(Object.keys(hashes(distributed)).length).toBe(6);
    expect(hashes(distributed)).toEqual(hashes(embedded));
    for (const c of Object.values(distributed.computations))
      expect(c.resultHash).toMatch(/^[0-9a-f]{64}$/);
  }, 240_000);

  it('sends a malformed message to the dead-letter topic and keeps serving', async () => {
    const { apiUrl, env } = cluster!;
    const pubsub = new PubSub({ projectId: env.GOOGLE_CLOUD_PROJECT });
    const deadLetters = pubsub.subscription('planner.runs.dead-letter');
    const dead = new Promise<{ reason: string; data: string }>((resolve) =>
      deadLetters.on('message', (m) => {
        m.ack();
        if (m.data.toString() === 'this is not an event')
          resolve({ reason: m.attributes.deadLetterReason, data: m.data.toString() });
      }),
    );
    await pubsub.topic(topics.runs).publishMessage({ data: Buffer.from('this is not an event') });
    const got = await dead;
    expect(got.reason).toMatch(/JSON/);
    await deadLetters.close();
    await pubsub.close();

    // the planner still serves: another run completes
    const res = await fetch(`${apiUrl}/runs`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ date: DATE, targets: ['MarketStats'] }),
    });
    const { runId } = (await res.json()) as { runId: string };
    const run = await waitForRun(apiUrl, runId, 60_000);
    expect(run.status).toBe('completed');
    expect(run.computations.MarketStats.status).toBe('skipped');
  }, 120_000);

  it("publishes what was committed but never published: a restarted planner's outbox relay starts the run", async () => {
    const { apiUrl, env } = cluster!;
    // a producer that died between its commit and its publish: RunRequested and its outbox row
    // are in Spanner, nothing is on Pub/Sub
    const spanner = new Spanner({ projectId: env.GOOGLE_CLOUD_PROJECT });
    const store = createSpannerEventStore(
      spanner.instance(env.SPANNER_INSTANCE).database(env.SPANNER_DATABASE),
    );
    const runId = `outbox-relay-${Date.now()}`;
    // a request the api accepted (it is valid for the sample project) before it died
    const request = { date: DATE, targets: ['MarketStats'] } as ValidRunRequest;
    await store.append(`run-${runId}`, [runRequestedEvent(runId, new Date(), request, 'api')]);
    await store.close();
    await spanner.close();
    // only the relay publishes it: at the planner's start (and every 30 s)
    await cluster!.start('planner');
    const run = await waitForRun(apiUrl, runId, 90_000);
    expect(run.status).toBe('completed');
  }, 180_000);

  it('backfills the sample dates through the scheduler, the historical UserRiskScore in date order', async () => {
    const { apiUrl } = cluster!;
    const dates = ['2026-01-13', '2026-01-14', DATE];
    const res = await fetch(`${apiUrl}/backfills`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ from: dates[0], to: DATE, concurrency: 3 }),
    });
    expect(res.status).toBe(202);
    const { backfillId } = (await res.json()) as { backfillId: string };
    type View = { status: string; historical: string[]; counts: Record<string, number> };
    let view: View | undefined;
    for (const deadline = Date.now() + 150_000; Date.now() < deadline;) {
      view = (await (await fetch(`${apiUrl}/backfills/${backfillId}`)).json()) as View;
      if (view.status !== 'running') break;
      await new Promise((r) => setTimeout(r, 500));
    }
    expect(view).toMatchObject({
      status: 'completed',
      historical: ['UserRiskScore'],
      counts: { requested: 3, failed: 0 },
    });
    // each date's run was requested after the previous date's run decided UserRiskScore
    type Entry = { type: string; recordedAt: string; computation?: string | null };
    const events = async (date: string) =>
      (
        (await (await fetch(`${apiUrl}/runs/${backfillId}-${date}/events`)).json()) as {
          events: Entry[];
        }
      ).events;
    for (let i = 1; i < dates.length; i++) {
      const decided = (await events(dates[i - 1])).find(
        (e) => e.type === 'ComputationCompleted' && e.computation === 'UserRiskScore',
      );
      const requested = (await events(dates[i])).find((e) => e.type === 'RunRequested');
      expect(Date.parse(requested!.recordedAt)).toBeGreaterThan(Date.parse(decided!.recordedAt));
    }
  }, 180_000);
});
