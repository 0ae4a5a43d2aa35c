import { hostname } from 'node:os';
import { PubSub } from '@google-cloud/pubsub';
import { Spanner, type Database } from '@google-cloud/spanner';
import { topics } from '@almanac/contracts';
import {
  createSpannerEventStore,
  createSpannerOutbox,
  relayOutbox,
  type EventStore,
  type SpannerOutbox,
} from '@almanac/eventlog';
import { createPubSubBus, type PubSubBus, type Subscription } from '@almanac/messaging';
import {
  createDuckDbWarehouse,
  createSpannerResultStore,
  type ResultStore,
  type Warehouse,
} from '@almanac/warehouse';
import { EventPublisher } from './event-publisher';
import { ExecutorService } from './executor.service';
import { loadProject, type LoadedProject } from './load-computations';
import { PlannerService } from './planner.service';
import {
  findProjectRoot,
  loadProjectConfig,
  projectPaths,
  type ProjectConfig,
} from './project-config';
import type { ServiceEnv } from './service-env';
import type { ServiceHandle } from './service-host';
import { WorkerService } from './worker.service';

export type ServiceName = 'scheduler' | 'planner' | 'executor' | 'worker' | 'api';
export const SERVICE_NAMES: readonly ServiceName[] = [
  'scheduler',
  'planner',
  'executor',
  'worker',
  'api',
];

/** The adapters of the gcp profile: Spanner log and results, Pub/Sub bus, read-only DuckDB sources. */
export interface GcpProfile {
  root: string;
  config: ProjectConfig;
  project: LoadedProject;
  database: Database;
  store: EventStore;
  outbox: SpannerOutbox;
  bus: PubSubBus;
  results: ResultStore;
  warehouse: Warehouse;
  publisher: EventPublisher;
  owner: string;
  close(): Promise<void>;
}

export async function openGcpProfile(env: ServiceEnv, service: ServiceName): Promise<GcpProfile> {
  const root = findProjectRoot(env.ALMANAC_PROJECT_ROOT ?? process.cwd());
  const loaded = loadProjectConfig(root);
  const execution = loaded.execution;
  const config: ProjectConfig = {
    ...loaded,
    execution: {
      ...execution,
      zombieThresholdMs: env.ALMANAC_ZOMBIE_THRESHOLD_MS ?? execution.zombieThresholdMs,
      sweepIntervalMs: env.ALMANAC_SWEEP_INTERVAL_MS ?? execution.sweepIntervalMs,
      breaker: {
        ...execution.breaker,
        timeoutMs: env.ALMANAC_BATCH_TIMEOUT_MS ?? execution.breaker.timeoutMs,
      },
    },
  };
  const paths = projectPaths(root, config);
  const project = await loadProject(root, paths.computationsDir, config);
  const spanner = new Spanner({ projectId: env.GOOGLE_CLOUD_PROJECT });
  const database = spanner.instance(env.SPANNER_INSTANCE).database(env.SPANNER_DATABASE);
  const store = createSpannerEventStore(database);
  const outbox = createSpannerOutbox(database);
  const pubsub = new PubSub({ projectId: env.GOOGLE_CLOUD_PROJECT });
  // topics and subscriptions come from `npm run provision:pubsub` (infra/pubsub)
  const bus = createPubSubBus(pubsub, { autoCreate: false });
  // the emulator runs one read-write transaction at a time: queue this process's writes
  const results = createSpannerResultStore(database, {
    serializeWrites: Boolean(process.env.SPANNER_EMULATOR_HOST),
  });
  const warehouse = await createDuckDbWarehouse({
    path: env.ALMANAC_WAREHOUSE_PATH ?? paths.warehouse,
    readOnly: true,
    schemaTtlMs: config.warehouse.schemaTtlMs,
  });
  const publisher = new EventPublisher(store, bus, undefined, (events) =>
    outbox.markPublished(events.map((e) => e.eventId)),
  );
  return {
    root,
    config,
    project,
    database,
    store,
    outbox,
    bus,
    results,
    warehouse,
    publisher,
    owner: env.ALMANAC_OWNER ?? `${service}@${hostname()}:${process.pid}`,
    async close() {
      await bus.close();
      await Promise.allSettled([store.close(), results.close(), warehouse.close()]);
      await database.close();
      await pubsub.close();
      void spanner.close();
    },
  };
}

/**
 * Starts one service of the gcp profile: subscribes its handlers to its Pub/Sub subscriptions
 * (infra/pubsub/topology.json). The planner also relays the outbox, so events committed by a
 * process that died before publishing still go out.
 */
export async function startGcpService(
  name: ServiceName,
  profile: GcpProfile,
  clock: () => Date = () => new Date(),
): Promise<ServiceHandle> {
  const { bus, store, publisher, project, config, warehouse, results, owner } = profile;
  const subscriptions: Subscription[] = [];
  const counters = { handled: 0, failed: 0 };
  const counted = (handle: (data: string) => Promise<void>) => async (m: { data: string }) => {
    try {
      await handle(m.data);
      counters.handled++;
    } catch (e) {
      counters.failed++;
      throw e;
    }
  };
  let relay: NodeJS.Timeout | undefined;
  switch (name) {
    case 'planner': {
      const planner = new PlannerService({ store, publisher, project, epoch: config.epoch, clock });
      subscriptions.push(
        await bus.subscribe(
          topics.runs,
          'planner.runs',
          counted((d) => planner.onMessage(d)),
          { concurrency: 4 },
        ),
      );
      const relayOnce = () =>
        relayOutbox(profile.outbox, (topic, messages) => bus.publish(topic, messages)).catch((e) =>
          process.stderr.write(
            `almanac planner: outbox relay failed: ${e instanceof Error ? e.message : String(e)}\n`,
          ),
        );
      await relayOnce();
      relay = setInterval(() => void relayOnce(), 30_000);
      relay.unref();
      break;
    }
    case 'executor': {
      const executor = new ExecutorService({
        store,
        publisher,
        project,
        config,
        warehouse,
        results,
        owner,
        clock,
      });
      subscriptions.push(
        await bus.subscribe(
          topics.batchResults,
          'executor.batch-results',
          counted((d) => executor.onBatchResultMessage(d)),
          { concurrency: 32 },
        ),
        await bus.subscribe(
          topics.passes,
          'executor.passes',
          counted((d) => executor.onPassMessage(d)),
          { concurrency: 8 },
        ),
      );
      break;
    }
    case 'worker': {
      const worker = new WorkerService({ publisher, project, config, warehouse, results, clock });
      subscriptions.push(
        await bus.subscribe(
          topics.batches,
          'worker.batches',
          counted((d) => worker.onMessage(d)),
          {
            concurrency: config.execution.workerConcurrency,
          },
        ),
      );
      break;
    }
    case 'scheduler':
    case 'api':
      // the scheduler's clock and the api's run requests come over HTTP / timers, not subscriptions
      break;
  }
  let closing: Promise<void> | null = null;
  return {
    name,
    health: () => ({ owner, subscriptions: subscriptions.length, ...counters }),
    close: () =>
      (closing ??= (async () => {
        if (relay) clearInterval(relay);
        // stop pulling and let in-flight handlers finish (they publish before they resolve)
        await Promise.all(subscriptions.map((s) => s.close()));
        await profile.close();
      })()),
  };
}
