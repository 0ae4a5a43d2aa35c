import { Inject, Module, type DynamicModule, type OnApplicationBootstrap } from '@nestjs/common';
import { topics } from '@almanac/contracts';
import { SERVICE_CONTEXT, subscriptionsProvider, type ServiceContext } from '@almanac/platform';
import { BackfillService } from './backfill.service';

const BACKFILL_SUBSCRIPTIONS = Symbol('almanac.backfill.subscriptions');

/** At start, moves on the backfills a dead process left (their next dates were never requested). */
class BackfillResume implements OnApplicationBootstrap {
  constructor(@Inject(BackfillService) private readonly backfills: BackfillService) {}
  async onApplicationBootstrap(): Promise<void> {
    await this.backfills.resumeAll();
  }
}

/**
 * Backfills (hosted by the scheduler, DESIGN §5): BackfillRequested and the ends of its runs ->
 * the RunRequested of the next dates.
 */
@Module({})
export class BackfillModule {
  static register(): DynamicModule {
    return {
      module: BackfillModule,
      providers: [
        {
          provide: BackfillService,
          inject: [SERVICE_CONTEXT],
          useFactory: (ctx: ServiceContext) =>
            new BackfillService({
              store: ctx.store,
              publisher: ctx.publisher,
              schemas: ctx.schemas,
              clock: ctx.clock,
              owner: ctx.owner,
            }),
        },
        subscriptionsProvider(BACKFILL_SUBSCRIPTIONS, BackfillService, (backfills) => [
          {
            topic: topics.runs,
            subscription: 'scheduler.backfill-runs',
            handle: (d) => backfills.onMessage(d),
            concurrency: 4,
          },
          {
            topic: topics.computations,
            subscription: 'scheduler.backfill-computations',
            handle: (d) => backfills.onMessage(d),
            concurrency: 4,
          },
        ]),
        {
          provide: BackfillResume,
          inject: [BackfillService],
          useFactory: (b: BackfillService) => new BackfillResume(b),
        },
      ],
      exports: [BackfillService],
    };
  }
}
