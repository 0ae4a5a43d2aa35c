import { rmSync } from 'node:fs';
import { startCluster, type Cluster } from '../cluster/cluster';
import {
  E2E_DATE,
  requestRun,
  resultHashes,
  sampleWithBaseline,
  waitForRun,
} from '../cluster/e2e-run';

type Ready = { status: number; body: { error?: Record<string, { message?: string }> } };

/** GET /health/ready of every replica, by name */
async function readiness(cluster: Cluster): Promise<Record<string, Ready>> {
  const answers = await Promise.all(
    cluster.processes.map(async (p) => {
      const res = await fetch(`${p.url}/health/ready`);
      return [p.name, { status: res.status, body: (await res.json()) as Ready['body'] }] as const;
    }),
  );
  return Object.fromEntries(answers);
}

const statuses = (r: Record<string, Ready>) =>
  Object.fromEntries(Object.entries(r).map(([name, a]) => [name, a.status]));

/** polls until every replica answers `status` (or the deadline passes), and returns the answers */
async function until(cluster: Cluster, status: number, timeoutMs: number) {
  const deadline = Date.now() + timeoutMs;
  let last = await readiness(cluster);
  while (Object.values(last).some((a) => a.status !== status) && Date.now() < deadline) {
    await new Promise((r) => setTimeout(r, 500));
    last = await readiness(cluster);
  }
  return last;
}

const ALL = (status: number) => ({
  'scheduler-1': status,
  'planner-1': status,
  'executor-1': status,
  'worker-1': status,
  'api-1': status,
});

// Readiness of the five deployed services follows their Spanner: the emulator is stopped
// (SIGSTOP: it keeps its data and answers nothing, as in an outage) and continued.
describe('readiness of the deployed services (e2e)', () => {
  let sample: Awaited<ReturnType<typeof sampleWithBaseline>>;
  let cluster: Cluster | undefined;

  beforeAll(async () => {
    sample = await sampleWithBaseline('almanac-health-', 40);
    cluster = await startCluster({ warehousePath: sample.warehouse });
  }, 180_000);

  afterAll(async () => {
    await cluster?.emulators.spanner.resume().catch(() => undefined);
    await cluster?.stop();
    rmSync(sample.dir, { recursive: true, force: true });
  }, 60_000);

  it('given the Spanner emulator stops, then every service turns unready naming spanner; when it runs on, they are ready again and a run completes', async () => {
    const c = cluster!;
    expect(statuses(await until(c, 200, 30_000))).toEqual(ALL(200));

    await c.emulators.spanner.pause();
    let stopped: Record<string, Ready>;
    try {
      stopped = await until(c, 503, 30_000);
    } finally {
      await c.emulators.spanner.resume();
    }
    expect(statuses(stopped)).toEqual(ALL(503));
    for (const [name, answer] of Object.entries(stopped))
      expect(`${name}: ${answer.body.error?.spanner?.message}`).toMatch(
        new RegExp(`^${name}: SELECT 1 on Spanner`),
      );

    expect(statuses(await until(c, 200, 60_000))).toEqual(ALL(200));
    // nothing was poisoned by the outage: the services run a whole date afterwards
    const run = await waitForRun(c.apiUrl, await requestRun(c.apiUrl, { date: E2E_DATE }), 150_000);
    expect(run.status).toBe('completed');
    expect(resultHashes(run)).toEqual(sample.baseline);
  }, 400_000);
});
