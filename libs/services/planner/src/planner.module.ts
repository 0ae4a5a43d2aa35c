import {
  Inject,
  Module,
  type DynamicModule,
  type BeforeApplicationShutdown,
  type OnApplicationBootstrap,
} from '@nestjs/common';
import { topics } from '@almanac/contracts';
import { SERVICE_CONTEXT, subscriptionsProvider, type ServiceContext } from '@almanac/platform';
import { PlannerService } from './planner.service';

const PLANNER_SUBSCRIPTIONS = Symbol('almanac.planner.subscriptions');
const RELAY_INTERVAL_MS = 30_000;

/**
 * Publishes events committed to the log but never published (their producer died between commit
 * and publish), at start and every 30 s.
 */
class OutboxRelay implements OnApplicationBootstrap, BeforeApplicationShutdown {
  private timer: NodeJS.Timeout | undefined;
  constructor(@Inject(SERVICE_CONTEXT) private readonly ctx: ServiceContext) {}

  async onApplicationBootstrap(): Promise<void> {
    const relay = this.ctx.relayOutbox;
    if (!relay) return;
    // what is left to relay, on this process's /metrics
    if (this.ctx.countOutbox) this.ctx.metrics.trackOutbox(this.ctx.countOutbox);
    const once = () =>
      relay().catch((e) =>
        process.stderr.write(
          `almanac planner: outbox relay failed: ${e instanceof Error ? e.message : String(e)}\n`,
        ),
      );
    await once();
    this.timer = setInterval(() => void once(), RELAY_INTERVAL_MS);
    this.timer.unref();
  }

  beforeApplicationShutdown(): void {
    if (this.timer) clearInterval(this.timer);
  }
}

/** The planner: RunRequested -> RunPlanned + PassReady(0), or RunRejected. */
@Module({})
export class PlannerModule {
  static register(): DynamicModule {
    return {
      module: PlannerModule,
      providers: [
        {
          provide: PlannerService,
          inject: [SERVICE_CONTEXT],
          useFactory: (ctx: ServiceContext) =>
            new PlannerService({
              store: ctx.store,
              publisher: ctx.publisher,
              project: ctx.project,
              epoch: ctx.config.epoch,
              dates: ctx.config.dates,
              clock: ctx.clock,
              schemas: ctx.schemas,
            }),
        },
        subscriptionsProvider(PLANNER_SUBSCRIPTIONS, PlannerService, (planner) => [
          {
            topic: topics.runs,
            subscription: 'planner.runs',
            handle: (d) => planner.onMessage(d),
            concurrency: 4,
          },
        ]),
        {
          provide: OutboxRelay,
          inject: [SERVICE_CONTEXT],
          useFactory: (ctx: ServiceContext) => new OutboxRelay(ctx),
        },
      ],
      exports: [PlannerService],
    };
  }
}
