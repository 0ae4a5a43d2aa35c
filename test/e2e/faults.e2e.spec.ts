import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { RunView } from '@almanac/domain/projections';
import { EmbeddedEngine } from '@almanac/embedded';
import { loadProjectConfig, parseProjectConfig } from '@almanac/platform';
import { generateSampleData } from '../../computations/sample-data/generate';
import { REPO_ROOT, startCluster, type Cluster, type Service } from '../cluster/cluster';

const DATE = '2026-01-15';
const PER_ENTITY = ['UserDailyActive', 'UserOrderStats', 'UserPortfolioSummary', 'UserRiskScore'];

async function getRun(apiUrl: string, runId: string): Promise<RunView | null> {
  const res = await fetch(`${apiUrl}/runs/${runId}`);
  return res.status === 200 ? ((await res.json()) as RunView) : null;
}

async function waitFor<T>(
  what: string,
  timeoutMs: number,
  probe: () => Promise<T | null | undefined | false>,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    const v = await probe();
    if (v) return v;
    await new Promise((r) => setTimeout(r, 250));
  }
  throw new Error(`timed out waiting for ${what}`);
}

/** status and the reasons of what did not complete, so a failure says why */
const outcome = (run: RunView) => ({
  status: run.status,
  notCompleted: Object.values(run.computations)
    .filter((c) => c.status !== 'completed')
    .map((c) => `${c.name}: ${c.status} ${JSON.stringify(c.reason)}`),
});

const summary = (run: RunView) =>
  Object.fromEntries(
    Object.values(run.computations).map((c) => [
      c.name,
      { status: c.status, resultHash: c.resultHash },
    ]),
  );

// DESIGN §5 invariant 2: killing a service mid-run and starting it again gives exactly the
// results of an undisturbed run.
describe('distributed Almanac: SIGKILL in the middle of a run (e2e)', () => {
  let dir: string;
  let cluster: Cluster | undefined;
  let undisturbed: ReturnType<typeof summary>;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'almanac-faults-'));
    const warehouse = join(dir, 'warehouse.duckdb');
    await generateSampleData({ path: warehouse, users: 2500, days: 3, endDate: DATE });
    const base = loadProjectConfig(REPO_ROOT);
    const config = parseProjectConfig({
      ...base,
      warehouse: { path: warehouse },
      dataDir: join(dir, 'embedded'),
    });
    const engine = await EmbeddedEngine.open({ root: REPO_ROOT, config });
    undisturbed = summary(await engine.run({ date: DATE }));
    await engine.close();
    cluster = await startCluster({
      warehousePath: warehouse,
      // seconds instead of the production hour and minute, so the test sees takeovers and retries
      env: {
        ALMANAC_ZOMBIE_THRESHOLD_MS: '3000',
        ALMANAC_SWEEP_INTERVAL_MS: '500',
        ALMANAC_BATCH_TIMEOUT_MS: '45000',
      },
    });
  }, 240_000);

  afterAll(async () => {
    await cluster?.stop();
    rmSync(dir, { recursive: true, force: true });
  }, 60_000);

  async function runWithKill(victim: Service, force: boolean): Promise<RunView> {
    const { apiUrl } = cluster!;
    const res = await fetch(`${apiUrl}/runs`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ date: DATE, force }),
    });
    const { runId } = (await res.json()) as { runId: string };
    // wait until a per-entity computation is part-way through its batches
    const midway = await waitFor(
      `a per-entity computation of ${runId} in progress`,
      120_000,
      async () => {
        const run = await getRun(apiUrl, runId);
        const c =
          run &&
          PER_ENTITY.map((n) => run.computations[n]).find(
            (x) => x?.status === 'running' && Object.keys(x.batchesDone).length < x.batchCount,
          );
        return c ? c.name : null;
      },
    );
    await cluster!.kill(`${victim}-1`, 'SIGKILL');
    await cluster!.start(victim, 1);
    // a killed worker's batch is retried after the 45 s batch timeout, and the emulator runs one
    // write at a time: recovery takes minutes here (~3 on a busy 2-core machine), not seconds
    const run = await waitFor(`run ${runId} to finish`, 240_000, async () => {
      const r = await getRun(apiUrl, runId);
      return r && ['completed', 'failed', 'rejected'].includes(r.status) ? r : null;
    }).catch(async (e: Error) => {
      // say where it stood: which computations, in which attempt, owned by whom
      const r = await getRun(apiUrl, runId).catch(() => null);
      const where = r
        ? Object.values(r.computations).map(
            (c) =>
              `${c.name}: ${c.status} attempt ${c.attempt} owner ${c.owner} batches ${Object.keys(c.batchesDone).length}/${c.batchCount} last progress ${c.lastProgressAt}`,
          )
        : ['(the api did not answer)'];
      throw new Error(`${e.message} (killed ${victim} during ${midway}); ${where.join('; ')}`);
    });
    return Object.assign(run, { killedDuring: midway });
  }

  it('an executor killed mid-computation is replaced, its work taken over, and the results are exactly the undisturbed ones', async () => {
    const run = await runWithKill('executor', true);
    expect(outcome(run)).toEqual({ status: 'completed', notCompleted: [] });
    // result hashes are computed from the stored rows: an extra or duplicated result would change them
    expect(summary(run)).toEqual(undisturbed);
    // the computation it was running was taken over in a new attempt
    const attempts = Object.values(run.computations).map((c) => c.attempt);
    expect(Math.max(...attempts)).toBeGreaterThanOrEqual(2);
  }, 360_000);

  it('a worker killed mid-batch is replaced and the run completes with exactly the undisturbed results', async () => {
    const run = await runWithKill('worker', true);
    expect(outcome(run)).toEqual({ status: 'completed', notCompleted: [] });
    expect(summary(run)).toEqual(undisturbed);
    // result hashes are computed from the stored rows: an extra or duplicated result would change them
  }, 360_000);
});
