import { Module, type DynamicModule } from '@nestjs/common';
import { topics } from '@almanac/contracts';
import { SERVICE_CONTEXT, subscriptionsProvider, type ServiceContext } from '@almanac/platform';
import { ExecutorService } from './executor.service';

const EXECUTOR_SUBSCRIPTIONS = Symbol('almanac.executor.subscriptions');

/**
 * The executor: PassReady -> decisions, batches through the breaker, completions and the next
 * pass; BatchDone -> the answer of a dispatched batch.
 */
@Module({})
export class ExecutorModule {
  static register(): DynamicModule {
    return {
      module: ExecutorModule,
      providers: [
        {
          provide: ExecutorService,
          inject: [SERVICE_CONTEXT],
          useFactory: (ctx: ServiceContext) =>
            new ExecutorService({
              store: ctx.store,
              publisher: ctx.publisher,
              project: ctx.project,
              config: ctx.config,
              warehouse: ctx.warehouse,
              results: ctx.results,
              owner: ctx.owner,
              clock: ctx.clock,
            }),
        },
        subscriptionsProvider(EXECUTOR_SUBSCRIPTIONS, ExecutorService, (executor) => [
          {
            topic: topics.batchResults,
            subscription: 'executor.batch-results',
            handle: (d) => executor.onBatchResultMessage(d),
            concurrency: 32,
          },
          {
            topic: topics.passes,
            subscription: 'executor.passes',
            handle: (d) => executor.onPassMessage(d),
            concurrency: 8,
          },
        ]),
      ],
      exports: [ExecutorService],
    };
  }
}
