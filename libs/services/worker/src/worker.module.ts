import { Module, type DynamicModule } from '@nestjs/common';
import { topics } from '@almanac/contracts';
import { SERVICE_CONTEXT, subscriptionsProvider, type ServiceContext } from '@almanac/platform';
import { WorkerService } from './worker.service';

const WORKER_SUBSCRIPTIONS = Symbol('almanac.worker.subscriptions');

/** The worker: BatchRequested -> process() per entity, results written -> BatchDone. */
@Module({})
export class WorkerModule {
  static register(): DynamicModule {
    return {
      module: WorkerModule,
      providers: [
        {
          provide: WorkerService,
          inject: [SERVICE_CONTEXT],
          useFactory: (ctx: ServiceContext) =>
            new WorkerService({
              publisher: ctx.publisher,
              project: ctx.project,
              config: ctx.config,
              warehouse: ctx.warehouse,
              results: ctx.results,
              clock: ctx.clock,
              log: ctx.log,
              store: ctx.store,
              schemas: ctx.schemas,
              owner: ctx.owner,
              staging: ctx.staging,
            }),
        },
        subscriptionsProvider(WORKER_SUBSCRIPTIONS, WorkerService, (worker, ctx) => [
          {
            topic: topics.batches,
            subscription: 'worker.batches',
            handle: (d) => worker.onMessage(d),
            concurrency: ctx.config.execution.workerConcurrency,
          },
        ]),
      ],
      exports: [WorkerService],
    };
  }
}
