import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { generateSampleData } from '../../computations/sample-data/generate';
import { startCluster, type Cluster } from '../cluster/cluster';

const DATE = '2026-01-15';
// the daily 02:00 UTC slot of the next day runs DATE
const AT = '2026-01-16T02:00:30Z';
const RUN = 'sched-20260116T0200Z-2026-01-15';
const OPERATOR = 'operator-token-0123456789abcdef';
const VIEWER = 'viewer-token-0123456789abcdef';

// The gcp scheduler service, triggered over HTTP as Cloud Scheduler would, produces a run that the
// planner, executor and worker processes carry out over Pub/Sub and Spanner.
describe('scheduler service (e2e)', () => {
  let dir: string;
  let cluster: Cluster | undefined;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'almanac-e2e-sched-'));
    await generateSampleData({
      path: join(dir, 'warehouse.duckdb'),
      users: 60,
      days: 3,
      endDate: DATE,
    });
    cluster = await startCluster({
      warehousePath: join(dir, 'warehouse.duckdb'),
      env: { ALMANAC_API_TOKENS: `ops:operator:${OPERATOR},view:viewer:${VIEWER}` },
    });
  }, 180_000);

  afterAll(async () => {
    await cluster?.stop();
    rmSync(dir, { recursive: true, force: true });
  }, 60_000);

  it('POST /tick with at: operator only; each slot due in the catch-up horizon is requested once, oldest first; the runs complete', async () => {
    const scheduler = cluster!.processes.find((p) => p.service === 'scheduler')!.url;
    const tick = (token?: string) =>
      fetch(`${scheduler}/tick`, {
        method: 'POST',
        headers: {
          'content-type': 'application/json',
          ...(token ? { authorization: `Bearer ${token}` } : {}),
        },
        body: JSON.stringify({ at: AT }),
      });
    expect((await tick()).status).toBe(401);
    expect((await tick(VIEWER)).status).toBe(403);

    const first = await tick(OPERATOR);
    expect(first.status).toBe(200);
    const body = (await first.json()) as {
      requested: Array<{ runId: string; date: string; targets: string[] }>;
    };
    // the example computations run at 01:00, 01:30, 02:00 and 03:00 UTC: every slot of the last
    // 24 h (scheduler.catchUpHours) is requested once, oldest first, computations due together in
    // one run
    expect(body.requested.map((r) => `${r.runId} ${r.date} ${r.targets.join(',')}`)).toEqual([
      'sched-20260115T0300Z-2026-01-14 2026-01-14 PlatformDailySummary',
      'sched-20260116T0100Z-2026-01-15 2026-01-15 MarketStats,UserDailyActive,UserOrderStats',
      'sched-20260116T0130Z-2026-01-15 2026-01-15 UserPortfolioSummary',
      `${RUN} 2026-01-15 UserRiskScore`,
    ]);

    const again = (await (await tick(OPERATOR)).json()) as {
      requested: unknown[];
      alreadyRequested: number;
    };
    expect(again).toMatchObject({ requested: [], alreadyRequested: 4 });

    // the runs, through the api
    for (const { runId } of body.requested) {
      const deadline = Date.now() + 150_000;
      let run: { status: string } | undefined;
      for (;;) {
        const r = await fetch(`${cluster!.apiUrl}/runs/${runId}`, {
          headers: { authorization: `Bearer ${VIEWER}` },
        });
        if (r.status === 200) {
          run = (await r.json()) as typeof run;
          if (run && ['completed', 'failed', 'rejected'].includes(run.status)) break;
        }
        if (Date.now() > deadline)
          throw new Error(`run ${runId} did not finish: ${JSON.stringify(run)}`);
        await new Promise((res) => setTimeout(res, 500));
      }
      expect(`${runId} ${run!.status}`).toBe(`${runId} completed`);
    }

    const schedules = await fetch(`${scheduler}/schedules`, {
      headers: { authorization: `Bearer ${VIEWER}` },
    });
    expect(schedules.status).toBe(200);
    expect(((await schedules.json()) as unknown[]).length).toBe(6);
  }, 240_000);
});
