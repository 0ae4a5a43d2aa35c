// The autoscaling rehearsal: one run's batches drained by the worker replicas of a local cluster,
// either a fixed number of them or as many as the worker's scaling rule asks for (desiredReplicas,
// the rule the generated KEDA ScaledObject declares), started as new processes while it drains.
import type { RunView } from '@almanac/domain/projections';
import { desiredReplicas, type backlogRule } from '../../infra/gcp/services';
import type { Cluster } from './cluster';
import { requestRun, waitForRun } from './e2e-run';

type Rule = ReturnType<typeof backlogRule>;

interface TimelineEvent {
  type: string;
  recordedAt: string;
  payload: Record<string, unknown>;
}

/**
 * The backlog of worker.batches for one run, read from the log: batches requested and not yet
 * answered. It is what Cloud Monitoring's num_undelivered_messages counts for the subscription
 * (a message stays undelivered until acked, and a worker acks after its BatchDone is recorded);
 * the Pub/Sub emulator exposes no such metric.
 */
interface LogBacklog {
  messages: number;
  /** age of the oldest request not yet answered, seconds (0 without one) */
  oldestUnackedSeconds: number;
  requested: number;
  done: number;
}

export interface ScalingStep {
  /** ms since the run was requested */
  atMs: number;
  backlog: number;
  oldestUnackedSeconds: number;
  /** replicas running or starting when the rule was applied */
  current: number;
  desired: number;
  /** replicas started by this step */
  started: string[];
}

export interface DrainReport {
  runId: string;
  run: RunView;
  batches: number;
  entities: number;
  /** from the first BatchRequested to the last BatchDone, by the log's commit timestamps */
  drainMs: number;
  /** batches per worker replica, from BatchDone's `worker` */
  byWorker: Record<string, number>;
  /** the autoscaled run's decisions, one per polling interval */
  scaling: ScalingStep[];
}

interface AutoscaleOptions {
  rule: Rule;
  /**
   * the most replicas this machine may start, standing in for the node pool's capacity: the rule's
   * maxReplicas (50 for the worker) would start more processes than a laptop has cores
   */
  maxLocalReplicas: number;
  /** how often the backlog is read and the rule applied (KEDA's pollingInterval, 30 s by default) */
  intervalMs: number;
}

const batchKey = (p: Record<string, unknown>) =>
  `${p.computation}:${p.attempt}:${p.batch}:${p.retry ?? 0}`;

async function runEvents(apiUrl: string, runId: string): Promise<TimelineEvent[]> {
  const res = await fetch(`${apiUrl}/runs/${runId}/events`);
  if (res.status === 404) return [];
  if (!res.ok) throw new Error(`GET /runs/${runId}/events: ${res.status} ${await res.text()}`);
  return ((await res.json()) as { events: TimelineEvent[] }).events;
}

function backlogOf(events: TimelineEvent[], now: number): LogBacklog {
  const requested = new Map<string, number>();
  const done = new Set<string>();
  for (const e of events) {
    if (e.type === 'BatchRequested') requested.set(batchKey(e.payload), Date.parse(e.recordedAt));
    if (e.type === 'BatchDone') done.add(batchKey(e.payload));
  }
  const open = [...requested].filter(([key]) => !done.has(key)).map(([, at]) => at);
  return {
    messages: open.length,
    oldestUnackedSeconds: open.length ? Math.max(0, (now - Math.min(...open)) / 1000) : 0,
    requested: requested.size,
    done: done.size,
  };
}

const alive = (cluster: Cluster) =>
  cluster
    .replicasOf('worker')
    .filter((p) => p.child.exitCode === null && p.child.signalCode === null);

/**
 * Requests a run and waits until it is over; with `autoscale`, applies the worker's rule every
 * interval while it runs and starts the replicas it asks for (scale-up only: the HPA waits a
 * 5-minute stabilization window before scaling down, longer than these runs).
 */
export async function drainRun(
  cluster: Cluster,
  opts: {
    body: Record<string, unknown>;
    timeoutMs: number;
    autoscale?: AutoscaleOptions;
    log?: (line: string) => void;
  },
): Promise<DrainReport> {
  const log = opts.log ?? (() => undefined);
  const t0 = Date.now();
  const runId = await requestRun(cluster.apiUrl, opts.body);
  const scaling: ScalingStep[] = [];
  const starting = new Set<Promise<unknown>>();
  let startingCount = 0;
  const startingReplicas = new Set<number>();
  let over = false;
  let failure: unknown;

  const scaler = (async () => {
    const auto = opts.autoscale;
    if (!auto) return;
    const rule = {
      ...auto.rule,
      maxReplicas: Math.min(auto.rule.maxReplicas, auto.maxLocalReplicas),
    };
    while (!over) {
      const backlog = backlogOf(await runEvents(cluster.apiUrl, runId), Date.now());
      const running = alive(cluster);
      const current = running.length + startingCount;
      const desired = desiredReplicas(rule, backlog, current);
      const started: string[] = [];
      for (let replica = 1; running.length + startingCount < desired; replica++) {
        // a replica still starting is neither running nor to be started again (start() would
        // stop it and start another under its name)
        if (running.some((p) => p.replica === replica) || startingReplicas.has(replica)) continue;
        started.push(`worker-${replica}`);
        startingCount++;
        startingReplicas.add(replica);
        const launch: Promise<unknown> = cluster
          .start('worker', replica)
          .catch((e: unknown) => (failure ??= e))
          .finally(() => {
            startingCount--;
            startingReplicas.delete(replica);
            starting.delete(launch);
          });
        starting.add(launch);
      }
      const step: ScalingStep = {
        atMs: Date.now() - t0,
        backlog: backlog.messages,
        oldestUnackedSeconds: Math.round(backlog.oldestUnackedSeconds),
        current,
        desired,
        started,
      };
      scaling.push(step);
      log(
        `t=${(step.atMs / 1000).toFixed(1)}s backlog ${backlog.messages} (requested ${backlog.requested}, done ${backlog.done}, oldest ${step.oldestUnackedSeconds} s) replicas ${current} -> desired ${desired}${started.length ? `: starting ${started.join(', ')}` : ''}`,
      );
      await new Promise((r) => setTimeout(r, auto.intervalMs));
    }
  })();

  let run: RunView;
  try {
    run = await waitForRun(cluster.apiUrl, runId, opts.timeoutMs);
  } finally {
    over = true;
    await scaler;
    await Promise.all(starting);
  }
  if (failure) throw failure;

  const events = await runEvents(cluster.apiUrl, runId);
  const requestedAt = events
    .filter((e) => e.type === 'BatchRequested')
    .map((e) => Date.parse(e.recordedAt));
  const answers = events.filter((e) => e.type === 'BatchDone');
  const byWorker: Record<string, number> = {};
  for (const e of answers) {
    const worker = String(e.payload.worker ?? '(unnamed)');
    byWorker[worker] = (byWorker[worker] ?? 0) + 1;
  }
  const doneAt = answers.map((e) => Date.parse(e.recordedAt));
  return {
    runId,
    run,
    batches: answers.length,
    entities: answers.reduce((n, e) => n + Number(e.payload.processed), 0),
    drainMs: doneAt.length ? Math.max(...doneAt) - Math.min(...requestedAt) : 0,
    byWorker,
    scaling,
  };
}
