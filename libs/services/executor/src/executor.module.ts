import {
  Inject,
  Module,
  type BeforeApplicationShutdown,
  type DynamicModule,
  type OnApplicationBootstrap,
} from '@nestjs/common';
import { topics } from '@almanac/contracts';
import { SERVICE_CONTEXT, subscriptionsProvider, type ServiceContext } from '@almanac/platform';
import { ExecutorService } from './executor.service';

const EXECUTOR_SUBSCRIPTIONS = Symbol('almanac.executor.subscriptions');

/**
 * Every executor replica sweeps on this timer for work nobody moves on (DESIGN §5 invariant 2):
 * the first sweep runs at once (work left by a process that died before this one started).
 */
export class ExecutorSweep implements OnApplicationBootstrap, BeforeApplicationShutdown {
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<void> | null = null;

  constructor(
    @Inject(SERVICE_CONTEXT) private readonly ctx: ServiceContext,
    @Inject(ExecutorService) private readonly executor: ExecutorService,
  ) {}

  onApplicationBootstrap(): void {
    const interval = this.ctx.config.execution.sweepIntervalMs;
    this.timer = setInterval(() => void this.sweepOnce(), interval);
    this.timer.unref();
    void this.sweepOnce();
  }

  /** one sweep at a time; a sweep that fails is reported and retried on the next tick */
  sweepOnce(): Promise<void> {
    this.running ??= this.executor
      .sweep()
      .catch((e) => {
        process.stderr.write(
          `almanac executor: sweep failed: ${e instanceof Error ? e.message : String(e)}\n`,
        );
      })
      .finally(() => {
        this.running = null;
      });
    return this.running;
  }

  async beforeApplicationShutdown(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    await this.running;
    await this.executor.flush().catch(() => undefined);
  }
}

/**
 * The executor: PassReady -> decisions and the first batches; BatchDone (from any replica's
 * dispatch) -> retries, the next batches, completion; ComputationCompleted -> runs waiting for
 * that (computation, date); and a sweep on a timer.
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
              schemas: ctx.schemas,
              // its views start from their checkpoint: a start reads the log's tail only
              checkpoints: ctx.checkpoints,
              metrics: ctx.metrics,
              staging: ctx.staging,
              resultsExporter: ctx.resultsExporter,
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
          {
            topic: topics.computations,
            subscription: 'executor.computations',
            handle: (d) => executor.onComputationMessage(d),
            concurrency: 8,
          },
        ]),
        {
          provide: ExecutorSweep,
          inject: [SERVICE_CONTEXT, ExecutorService],
          useFactory: (ctx: ServiceContext, executor: ExecutorService) =>
            new ExecutorSweep(ctx, executor),
        },
      ],
      exports: [ExecutorService, ExecutorSweep],
    };
  }
}
