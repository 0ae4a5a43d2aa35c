import { hostname } from 'node:os';
import { BigQuery } from '@google-cloud/bigquery';
import { PubSub } from '@google-cloud/pubsub';
import { Spanner, type Database } from '@google-cloud/spanner';
import { eventSchemas } from '@almanac/contracts';
import {
  createSpannerCheckpointStore,
  createSpannerEventStore,
  createSpannerOutbox,
  relayOutbox,
  type EventStore,
  type SpannerOutbox,
} from '@almanac/eventlog';
import { createPubSubBus, type PubSubBus } from '@almanac/messaging';
import type { ObjectStore } from '@almanac/storage';
import {
  createBigQueryResultsExporter,
  type BigQueryResultsExporter,
  createSpannerResultStore,
  type ResultStore,
  type Warehouse,
} from '@almanac/warehouse';
import { EventPublisher } from './event-publisher';
import { loadProject, type LoadedProject } from './load-computations';
import { AlmanacMetrics, instrumentEventStore, OUTBOX_COUNT_LIMIT } from './metrics';
import {
  ConfigError,
  findProjectRoot,
  loadProjectConfig,
  projectPaths,
  type ProjectConfig,
} from './project-config';
import type { ServiceEnv } from './service-env';
import { gcpClaimCheck, gcpObjectStore } from './claim-check';
import { openWarehouse } from './open-warehouse';
import { computationLogSink, type Logger } from './logging/logger';
import { logEvents } from './logging/event-log-lines';
import { newServiceStats, type ServiceContext, type ServiceName } from './service-module';

/** The adapters of the gcp profile: Spanner log and results, Pub/Sub bus, read-only DuckDB sources. */
export interface GcpProfile extends ServiceContext {
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

export async function openGcpProfile(
  env: ServiceEnv,
  service: ServiceName,
  /** logger: the decisions this process appends, computations' this.log() lines, bus errors */
  opts: { logger?: Logger } = {},
): Promise<GcpProfile> {
  const { logger } = opts;
  const root = findProjectRoot(env.ALMANAC_PROJECT_ROOT ?? process.cwd());
  const loaded = loadProjectConfig(root);
  const execution = loaded.execution;
  const config: ProjectConfig = {
    ...loaded,
    execution: {
      ...execution,
      zombieThresholdMs: env.ALMANAC_ZOMBIE_THRESHOLD_MS ?? execution.zombieThresholdMs,
      sweepIntervalMs: env.ALMANAC_SWEEP_INTERVAL_MS ?? execution.sweepIntervalMs,
      batchSize: env.ALMANAC_BATCH_SIZE ?? execution.batchSize,
      maxInFlight: env.ALMANAC_MAX_IN_FLIGHT ?? execution.maxInFlight,
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
  const metrics = new AlmanacMetrics();
  const store = instrumentEventStore(
    createSpannerEventStore(database, { schemas: eventSchemas }),
    metrics,
  );
  const outbox = createSpannerOutbox(database);
  const checkpoints = createSpannerCheckpointStore(database);
  const pubsub = new PubSub({ projectId: env.GOOGLE_CLOUD_PROJECT });
  const objects = gcpObjectStore(config, env);
  // topics and subscriptions come from `npm run provision:pubsub` (infra/pubsub)
  const bus = createPubSubBus(pubsub, {
    autoCreate: false,
    claimCheck: gcpClaimCheck(config, env, objects),
    ...(logger && {
      onError: (error: unknown, context: string) =>
        logger.error(
          { error: error instanceof Error ? error.message : String(error) },
          `pubsub: ${context}`,
        ),
    }),
  });
  // the emulator runs one read-write transaction at a time: queue this process's writes
  const results = createSpannerResultStore(database, {
    serializeWrites: Boolean(process.env.SPANNER_EMULATOR_HOST),
  });
  const warehouse = await openWarehouse(config, paths.warehouse, env);
  const resultsExporter =
    config.export && openResultsExporter(env, config, config.export.bigquery, objects);
  const publisher = new EventPublisher(
    store,
    bus,
    logger && ((events) => logEvents(logger, events)),
    (events) => outbox.markPublished(events.map((e) => e.eventId)),
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
    schemas: eventSchemas,
    owner: env.ALMANAC_OWNER ?? `${service}@${hostname()}:${process.pid}`,
    clock: () => new Date(),
    logger,
    log: logger && computationLogSink(logger),
    stats: newServiceStats(),
    checkpoints,
    // reads billed by bytes are staged once per attempt for the workers (ADR 0026)
    staging: config.warehouse.kind === 'bigquery' ? objects : undefined,
    relayOutbox: () => relayOutbox(outbox, (topic, messages) => bus.publish(topic, messages)),
    countOutbox: () => outbox.countPending(OUTBOX_COUNT_LIMIT),
    metrics,
    resultsExporter,
    async close() {
      await bus.close();
      await Promise.allSettled([
        store.close(),
        results.close(),
        warehouse.close(),
        checkpoints.close(),
      ]);
      await database.close();
      await pubsub.close();
      void spanner.close();
    },
  };
}

/** The BigQuery results export (ADR 0026): staged in the `storage` bucket, merged into the table. */
function openResultsExporter(
  env: ServiceEnv,
  config: ProjectConfig,
  target: { dataset: string; table: string },
  store: ObjectStore | undefined,
): BigQueryResultsExporter {
  // the config refuses export without storage; this only narrows the type
  if (!store) throw new ConfigError('export.bigquery is set but storage is not');
  const projectId = config.warehouse.bigquery?.projectId ?? env.GOOGLE_CLOUD_PROJECT;
  return createBigQueryResultsExporter({
    bigquery: new BigQuery({ projectId, apiEndpoint: env.ALMANAC_BIGQUERY_ENDPOINT }),
    store,
    dataset: target.dataset,
    table: target.table,
  });
}
