import {
  Global,
  Inject,
  Module,
  type DynamicModule,
  type BeforeApplicationShutdown,
  type OnApplicationBootstrap,
} from '@nestjs/common';
import type { EventSchemas } from '@almanac/contracts';
import type { CheckpointStore } from '@almanac/domain/projections';
import type { EventStore } from '@almanac/eventlog';
import type { LogSink } from '@almanac/kernel';
import {
  DEFAULT_MAX_DELIVERY_ATTEMPTS,
  deadLetterTopic,
  type Bus,
  type ReceivedMessage,
  type Subscription,
} from '@almanac/messaging';
import type { ObjectStore } from '@almanac/storage';
import type { BigQueryResultsExporter, ResultStore, Warehouse } from '@almanac/warehouse';
import type { EventPublisher } from './event-publisher';
import { messageLogContext, withLogContext, type Logger } from './logging/logger';
import type { LoadedProject } from './load-computations';
import { ageSeconds, type AlmanacMetrics } from './metrics';
import type { ProjectConfig } from './project-config';
import { consumeMessage } from './tracing';

export type ServiceName = 'scheduler' | 'planner' | 'executor' | 'worker' | 'api';
export const SERVICE_NAMES: readonly ServiceName[] = [
  'scheduler',
  'planner',
  'executor',
  'worker',
  'api',
];

/** What a profile gives every service module: its adapters, the project, who and when it is. */
export interface ServiceContext {
  store: EventStore;
  publisher: EventPublisher;
  bus: Bus;
  project: LoadedProject;
  config: ProjectConfig;
  warehouse: Warehouse;
  results: ResultStore;
  /** how the services read messages (the store reads the log with the same): ADR 0011 */
  schemas: EventSchemas;
  /** this process's identity in leases */
  owner: string;
  clock: () => Date;
  /** lines computations write with this.log() */
  log?: LogSink;
  /**
   * the process's structured log (ADR 0023): with it, each message is handled inside a log
   * context (its run, computation, batch, trace id) and handling is logged
   */
  logger?: Logger;
  /** messages handled and failed by this process's subscriptions (for /health) */
  stats: { subscriptions: number; handled: number; failed: number };
  /** a message a subscription gave up on (dead-lettered), with the reason */
  onDeadLetter?: (subscription: string, reason: string) => void;
  /** where services checkpoint the views they fold from the log (so a start reads only the tail) */
  checkpoints?: CheckpointStore;
  /**
   * where the executor stages per-entity inputs and workers read them by batch (ADR 0026: the
   * gcp profile with BigQuery as its warehouse and a Cloud Storage bucket; absent: none)
   */
  staging?: ObjectStore;
  /** publishes what was committed to the log but not yet published (gcp: the Spanner outbox) */
  relayOutbox?: () => Promise<unknown>;
  /** the outbox's unpublished rows, counted up to OUTBOX_COUNT_LIMIT (gcp) */
  countOutbox?: () => Promise<number>;
  /** this process's metrics (one registry per process), served at /metrics */
  metrics: AlmanacMetrics;
  /** exports completed result versions to BigQuery (gcp profile with `export` set; ADR 0026) */
  resultsExporter?: BigQueryResultsExporter;
}

export const SERVICE_CONTEXT = Symbol('almanac.ServiceContext');

export function newServiceStats(): ServiceContext['stats'] {
  return { subscriptions: 0, handled: 0, failed: 0 };
}

/** The profile's adapters, given to every service module of the application. */
@Global()
@Module({})
export class ProfileModule {
  static forContext(ctx: ServiceContext): DynamicModule {
    return {
      module: ProfileModule,
      providers: [{ provide: SERVICE_CONTEXT, useValue: ctx }],
      exports: [SERVICE_CONTEXT],
    };
  }
}

export interface SubscriptionSpec {
  topic: string;
  subscription: string;
  handle: (data: string) => Promise<void>;
  concurrency: number;
}

/**
 * A service's bus subscriptions (infra/pubsub/topology.json names them): opened once the
 * application has booted, closed before it shuts down (before the adapters close), in-flight handlers settled first (they
 * publish before they resolve). A handler's error nacks its message (the bus redelivers it).
 */
export class BusSubscriptions implements OnApplicationBootstrap, BeforeApplicationShutdown {
  private readonly open: Subscription[] = [];

  constructor(
    @Inject(SERVICE_CONTEXT) private readonly ctx: ServiceContext,
    private readonly specs: SubscriptionSpec[],
  ) {}

  async onApplicationBootstrap(): Promise<void> {
    const { bus, stats, onDeadLetter, logger, metrics } = this.ctx;
    for (const spec of this.specs) {
      const labels = { subscription: spec.subscription };
      metrics.messagesInFlight.set(labels, 0);
      const handle = async (m: ReceivedMessage) => {
        metrics.messagesInFlight.inc(labels);
        try {
          await spec.handle(m.data);
          stats.handled++;
        } catch (e) {
          stats.failed++;
          throw e;
        } finally {
          metrics.messagesInFlight.dec(labels);
        }
      };
      const inner = logger ? logged(logger, spec.subscription, handle) : handle;
      this.open.push(
        await bus.subscribe(
          spec.topic,
          spec.subscription,
          (m) => {
            // wall time, as the publish time is (ctx.clock may be a test's)
            metrics.messageAge.observe(labels, ageSeconds(m.publishTime, new Date()));
            // in a consumer span, child of the span that appended the event (ADR 0022); the log
            // context inside it, so the handler's lines carry the span (ADR 0023)
            return consumeMessage(spec.subscription, m, () => inner(m));
          },
          { concurrency: spec.concurrency },
        ),
      );
      stats.subscriptions++;
      if (onDeadLetter)
        this.open.push(
          await bus.subscribe(
            deadLetterTopic(spec.subscription),
            `${spec.subscription}.dead-letter.log`,
            async (m) =>
              onDeadLetter(spec.subscription, m.attributes.deadLetterReason ?? 'unknown reason'),
          ),
        );
    }
  }

  async beforeApplicationShutdown(): Promise<void> {
    await Promise.all(this.open.splice(0).map((s) => s.close()));
  }
}

/**
 * `handle` inside the log context of its message (the run, computation and batch of the envelope,
 * the service of the subscription), logging each message handled (debug), each failed handling
 * (warn: it is redelivered) and the last one (error: the bus dead-letters the message).
 */
function logged(
  logger: Logger,
  subscription: string,
  handle: (m: ReceivedMessage) => Promise<void>,
): (m: ReceivedMessage) => Promise<void> {
  const service = subscription.split('.')[0];
  return (m) => {
    const ctx = messageLogContext(m.data, service);
    return withLogContext(ctx, async () => {
      const t0 = performance.now();
      const fields = { event: ctx.type, subscription, attempt: m.deliveryAttempt };
      try {
        await handle(m);
      } catch (e) {
        const error = e instanceof Error ? e.message : String(e);
        if (m.deliveryAttempt >= DEFAULT_MAX_DELIVERY_ATTEMPTS)
          logger.error(
            { ...fields, error },
            `message dead-lettered after ${m.deliveryAttempt} attempts: ${error}`,
          );
        else logger.warn({ ...fields, error }, `handling failed, to be redelivered: ${error}`);
        throw e;
      }
      if (logger.isLevelEnabled('debug'))
        logger.debug(
          { ...fields, durationMs: Math.round(performance.now() - t0) },
          `handled ${ctx.type ?? 'a message'}`,
        );
    });
  };
}

/** A provider of a service module's subscriptions, built from its handlers. */
export function subscriptionsProvider<T>(
  token: symbol,
  handlers: abstract new (...args: never[]) => T,
  specs: (handlers: T, ctx: ServiceContext) => SubscriptionSpec[],
) {
  return {
    provide: token,
    inject: [SERVICE_CONTEXT, handlers],
    useFactory: (ctx: ServiceContext, h: T) => new BusSubscriptions(ctx, specs(h, ctx)),
  };
}
