import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { backlogRule } from '../../infra/gcp/services';
import { drainRun } from '../cluster/autoscale';
import { startCluster, type Cluster } from '../cluster/cluster';
import {
  CPU_BOUND_DATE,
  CPU_BOUND_ROOT,
  createCpuBoundWarehouse,
} from '../fixtures/cpu-bound/warehouse';

// 600 entities in batches of 20 (test/fixtures/cpu-bound), each about a second of one core, ten
// requested at a time: the backlog asks for two workers, and two thirds of the batches are requested
// after the run starts, so the second worker is up while there is work it can receive (the Pub/Sub
// emulator leaves what was published before its stream opened to the first worker).
const ENTITIES = 600;
const BATCHES = 30;

// Issue 11 item 7, reduced: the worker's scaling rule (infra/gcp/services.ts, the rule of its KEDA
// ScaledObject) applied to a local cluster. No timing is asserted: the machine is shared.
describe('autoscaling rehearsal: one worker under a backlog, scaled by the rule of its ScaledObject (e2e)', () => {
  let dir: string;
  let cluster: Cluster | undefined;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'almanac-autoscale-'));
    const warehouse = join(dir, 'warehouse.duckdb');
    await createCpuBoundWarehouse(warehouse, ENTITIES);
    cluster = await startCluster({
      warehousePath: warehouse,
      replicas: { worker: 1 },
      env: { ALMANAC_PROJECT_ROOT: CPU_BOUND_ROOT, ALMANAC_MAX_IN_FLIGHT: '10' },
    });
  }, 300_000);

  afterAll(async () => {
    await cluster?.stop();
    rmSync(dir, { recursive: true, force: true });
  }, 60_000);

  it('the rule asks for a second worker, the rehearsal starts it, and both workers do batches until the backlog is drained', async () => {
    const rule = backlogRule('worker');
    const report = await drainRun(cluster!, {
      body: { date: CPU_BOUND_DATE },
      timeoutMs: 150_000,
      autoscale: { rule, maxLocalReplicas: 2, intervalMs: 1000 },
    });

    expect(report.run.status).toBe('completed');
    expect(report.batches).toBe(BATCHES);
    expect(report.entities).toBe(ENTITIES);

    // it started under one worker; the first step that saw the backlog above one replica's share
    // asked for two (the local ceiling) and started worker-2; nothing asked for a third process
    expect(report.scaling[0].current).toBe(1);
    const scaledOut = report.scaling.find((s) => s.started.length > 0);
    expect(scaledOut).toMatchObject({ current: 1, desired: 2, started: ['worker-2'] });
    expect(scaledOut!.backlog).toBeGreaterThan(rule.scaling.messagesPerReplica);
    expect(report.scaling.flatMap((s) => s.started)).toEqual(['worker-2']);
    // the executor keeps at most maxInFlight (10 here) batches requested: the backlog never exceeds it
    expect(Math.max(...report.scaling.map((s) => s.backlog))).toBeLessThanOrEqual(10);
    expect(cluster!.replicasOf('worker').map((p) => p.name)).toEqual(['worker-1', 'worker-2']);

    // the log names the replica of every answer: both processes drained the backlog
    expect(Object.keys(report.byWorker).sort()).toEqual(['worker-1', 'worker-2']);
    expect(report.byWorker['worker-1'] + report.byWorker['worker-2']).toBe(BATCHES);
    expect(report.byWorker['worker-2']).toBeGreaterThan(0);
  }, 200_000);
});
