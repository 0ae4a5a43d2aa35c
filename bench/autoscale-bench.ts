// npm run bench:autoscale [-- --entities N --interval MS --max-workers N --hash-rounds N]: the autoscaling
// rehearsal (issue 11 item 7). A CPU-bound computation (test/fixtures/cpu-bound) on the five
// services over the emulators; the drain rate of one run's batches with 1, 2 and 4 worker processes,
// then one run that starts at 1 worker and is scaled by the worker's rule (infra/gcp/services.ts,
// the rule of its KEDA ScaledObject). The CPU of each process group during each drain is read from
// /proc (Linux), and a probe shows how the Pub/Sub emulator hands out a backlog to a late subscriber.
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { PubSub } from '@google-cloud/pubsub';
import { backlogRule } from '../infra/gcp/services';
import { drainRun, type DrainReport } from '../test/cluster/autoscale';
import { startCluster, type Cluster } from '../test/cluster/cluster';
import {
  CPU_BOUND_DATE,
  CPU_BOUND_ROOT,
  createCpuBoundWarehouse,
} from '../test/fixtures/cpu-bound/warehouse';

const log = (m: string) => process.stderr.write(`${m}\n`);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** CPU ticks (user + system) of this process's descendants, by group, and of the whole machine. */
interface CpuSample {
  at: number;
  byPid: Map<number, { group: string; ticks: number }>;
  machineBusy: number;
}

function groupOf(cmdline: string): string {
  const service = /almanac-service\0(\w+)/.exec(cmdline);
  if (service) return service[1];
  if (/pubsub/i.test(cmdline)) return 'pubsub emulator';
  if (/spanner|emulator_main|gateway_main/i.test(cmdline)) return 'spanner emulator';
  return 'other';
}

function sampleCpu(): CpuSample | null {
  try {
    const parent = new Map<number, number>();
    const ticks = new Map<number, number>();
    for (const name of readdirSync('/proc')) {
      if (!/^\d+$/.test(name)) continue;
      try {
        const stat = readFileSync(`/proc/${name}/stat`, 'utf8');
        // fields after the command, which is in parentheses and may hold spaces
        const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
        parent.set(Number(name), Number(f[1]));
        ticks.set(Number(name), Number(f[11]) + Number(f[12]));
      } catch {
        // the process ended while we read
      }
    }
    const mine = new Set([process.pid]);
    for (let grew = true; grew;) {
      grew = false;
      for (const [pid, ppid] of parent)
        if (!mine.has(pid) && mine.has(ppid)) {
          mine.add(pid);
          grew = true;
        }
    }
    mine.delete(process.pid);
    const byPid = new Map<number, { group: string; ticks: number }>();
    for (const pid of mine) {
      let cmdline = '';
      try {
        cmdline = readFileSync(`/proc/${pid}/cmdline`, 'utf8');
      } catch {
        continue;
      }
      byPid.set(pid, { group: groupOf(cmdline), ticks: ticks.get(pid) ?? 0 });
    }
    const cpu = readFileSync('/proc/stat', 'utf8').split('\n')[0].trim().split(/\s+/).slice(1);
    const n = cpu.map(Number);
    // user nice system (irq softirq steal) count as busy; idle and iowait do not
    const machineBusy = n[0] + n[1] + n[2] + n[5] + n[6] + n[7];
    return { at: Date.now(), byPid, machineBusy };
  } catch {
    return null;
  }
}

/** cores used by each group between two samples (100 ticks per second, the Linux default) */
function coresUsed(before: CpuSample | null, after: CpuSample | null): Record<string, number> {
  if (!before || !after) return {};
  const seconds = (after.at - before.at) / 1000;
  const used: Record<string, number> = {};
  for (const [pid, { group, ticks }] of after.byPid) {
    const delta = ticks - (before.byPid.get(pid)?.ticks ?? 0);
    used[group] = (used[group] ?? 0) + delta / 100 / seconds;
  }
  used['machine (every process)'] = (after.machineBusy - before.machineBusy) / 100 / seconds;
  return used;
}

/**
 * 20 messages published to a subscription with one subscriber (flow control: 2 messages), a second
 * subscriber started a second later: how many each handled. Cloud Pub/Sub stops sending at the
 * StreamingPull's max_outstanding_messages, so the second would get a share of the backlog.
 */
async function probeEmulatorFlowControl(projectId: string): Promise<Record<string, number>> {
  const pubsub = new PubSub({ projectId });
  const [topic] = await pubsub.createTopic('bench-autoscale-probe');
  await topic.createSubscription('bench-autoscale-probe-sub', { ackDeadlineSeconds: 20 });
  await Promise.all(
    Array.from({ length: 20 }, (_, i) => topic.publishMessage({ data: Buffer.from(String(i)) })),
  );
  const counts: Record<string, number> = { first: 0, second: 0 };
  let acked = 0;
  const subscribe = (name: string) => {
    const sub = pubsub.subscription('bench-autoscale-probe-sub', {
      flowControl: { maxMessages: 2, allowExcessMessages: false },
      streamingOptions: { maxStreams: 1 },
    });
    sub.on('message', (m) =>
      setTimeout(() => {
        m.ack();
        counts[name]++;
        acked++;
      }, 200),
    );
    return sub;
  };
  const first = subscribe('first');
  await sleep(1000);
  const second = subscribe('second');
  for (let waited = 0; acked < 20 && waited < 60_000; waited += 100) await sleep(100);
  await Promise.all([first.close(), second.close()]);
  await pubsub.close();
  return counts;
}

interface Row {
  label: string;
  workers: string;
  report: DrainReport;
  cpu: Record<string, number>;
}

async function measure(cluster: Cluster, label: string, workers: string, autoscale?: boolean) {
  const before = sampleCpu();
  const report = await drainRun(cluster, {
    body: { date: CPU_BOUND_DATE, force: true },
    timeoutMs: 900_000,
    log,
    ...(autoscale
      ? {
          autoscale: {
            rule: backlogRule('worker'),
            maxLocalReplicas: maxWorkers,
            intervalMs: interval,
          },
        }
      : {}),
  });
  const cpu = coresUsed(before, sampleCpu());
  if (report.run.status !== 'completed')
    throw new Error(`run ${report.runId} (${label}) ended ${report.run.status}`);
  log(
    `${label}: ${report.batches} batches in ${(report.drainMs / 1000).toFixed(1)} s by ${JSON.stringify(report.byWorker)}`,
  );
  return { label, workers, report, cpu } satisfies Row;
}

const { values } = parseArgs({
  options: {
    entities: { type: 'string', default: '1200' },
    interval: { type: 'string', default: '2000' },
    'max-workers': { type: 'string', default: '4' },
    // sha256 rounds per entity (the fixture's default: 4000)
    'hash-rounds': { type: 'string', default: '4000' },
  },
});
const entities = Number(values.entities);
const interval = Number(values.interval);
const maxWorkers = Number(values['max-workers']);

async function main() {
  const dir = mkdtempSync(join(tmpdir(), 'almanac-autoscale-'));
  const warehouse = join(dir, 'warehouse.duckdb');
  await createCpuBoundWarehouse(warehouse, entities);
  const cluster = await startCluster({
    warehousePath: warehouse,
    replicas: { worker: 1 },
    env: {
      ALMANAC_PROJECT_ROOT: CPU_BOUND_ROOT,
      ALMANAC_FIXTURE_HASH_ROUNDS: String(Number(values['hash-rounds'])),
    },
    log,
  });
  try {
    const probe = await probeEmulatorFlowControl(cluster.env.GOOGLE_CLOUD_PROJECT);
    log(`emulator flow-control probe: ${JSON.stringify(probe)}`);

    // the first run warms up (module loading, JIT, the computation's first results)
    await measure(cluster, 'warm-up', '1');
    const rows: Row[] = [];
    for (let n = 1; n <= maxWorkers; n *= 2) {
      for (let r = cluster.replicasOf('worker').length + 1; r <= n; r++)
        await cluster.start('worker', r);
      rows.push(await measure(cluster, `fixed ${n}`, String(n)));
    }
    // back to one worker: the autoscaled run starts where KEDA's minReplicaCount leaves it
    for (const p of cluster.replicasOf('worker').slice(1)) await cluster.kill(p.name);
    const auto = await measure(cluster, 'autoscaled', `1..${maxWorkers}`, true);
    rows.push(auto);

    const base = rows[0].report;
    const rate = (r: DrainReport, n: number) => n / (r.drainMs / 1000);
    const groups = ['worker', 'executor', 'pubsub emulator', 'spanner emulator'];
    const out = [
      `${entities} entities in ${base.batches} batches of ${entities / base.batches}, ${values['hash-rounds']} sha256 rounds each; rule: ${JSON.stringify(backlogRule('worker').scaling)}, at most ${maxWorkers} local replicas, applied every ${interval} ms`,
      `emulator flow-control probe (20 messages published, subscriber 1 with maxMessages 2, subscriber 2 a second later): ${JSON.stringify(probe)}`,
      '',
      `workers      entities/s  batches/s  drain s  speed-up  cores used during the run: ${groups.join(' / ')} / machine`,
      ...rows.map((r) =>
        [
          r.workers.padEnd(11),
          rate(r.report, r.report.entities).toFixed(1).padStart(10),
          rate(r.report, r.report.batches).toFixed(2).padStart(10),
          (r.report.drainMs / 1000).toFixed(1).padStart(8),
          `${(base.drainMs / r.report.drainMs).toFixed(2)}x`.padStart(9),
          `  ${groups.map((g) => (r.cpu[g] ?? 0).toFixed(2)).join(' / ')} / ${(r.cpu['machine (every process)'] ?? 0).toFixed(2)}`,
        ].join(' '),
      ),
      '',
      'batches per worker replica (BatchDone.worker):',
      ...rows.map((r) => `  ${r.label.padEnd(11)} ${JSON.stringify(r.report.byWorker)}`),
      '',
      'autoscaled run, replica timeline (backlog from the log: requested - answered):',
      ...auto.report.scaling
        .filter(
          (s, i, all) =>
            i === 0 ||
            i === all.length - 1 ||
            s.started.length > 0 ||
            s.desired !== all[i - 1].desired ||
            s.current !== all[i - 1].current,
        )
        .map(
          (s) =>
            `  t=${(s.atMs / 1000).toFixed(1).padStart(5)} s  backlog ${String(s.backlog).padStart(3)}  oldest ${String(s.oldestUnackedSeconds).padStart(3)} s  replicas ${s.current} -> ${s.desired}${s.started.length ? `  started ${s.started.join(', ')}` : ''}`,
        ),
      '',
    ];
    process.stdout.write(out.join('\n'));
  } finally {
    await cluster.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}

main().catch((e) => {
  process.stderr.write(`bench:autoscale failed: ${e instanceof Error ? e.stack : String(e)}\n`);
  process.exitCode = 1;
});
