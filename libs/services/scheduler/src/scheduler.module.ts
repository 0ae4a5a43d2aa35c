import {
  Body,
  Controller,
  Get,
  HttpCode,
  HttpException,
  Inject,
  Module,
  Param,
  Post,
  Query,
  Req,
  type BeforeApplicationShutdown,
  type DynamicModule,
  type OnApplicationBootstrap,
} from '@nestjs/common';
import { UnknownScheduleError } from '@almanac/domain/scheduler';
import type { RetentionSweep } from '@almanac/platform';
import { SchedulerService, type TickResult } from './scheduler.service';

const SCHEDULER_SERVICE = Symbol('almanac.SchedulerService');
const TICK_SETTINGS = Symbol('almanac.scheduler.tick');

/** The retention sweep the timer runs after its tick, at most once per `intervalMs` (ADR 0018). */
interface TimerRetention {
  sweep: Pick<RetentionSweep, 'sweep'>;
  /** 0 or null: the timer never sweeps */
  intervalMs: number | null;
}

interface TickSettings {
  intervalMs: number | null;
  log: (line: string) => void;
  retention?: TimerRetention;
}

/**
 * Ticks every `intervalMs` from start; a failed tick is logged and the next one goes on. After a
 * tick, it runs the retention sweep when none has started in the last `retention.intervalMs` (by
 * the scheduler's clock); a failed sweep is logged and the next due one goes on.
 */
class SchedulerTimer implements OnApplicationBootstrap, BeforeApplicationShutdown {
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<unknown> = Promise.resolve();
  private lastSweepAt: number | null = null;
  constructor(
    @Inject(SCHEDULER_SERVICE) private readonly scheduler: SchedulerService,
    @Inject(TICK_SETTINGS) private readonly settings: TickSettings,
  ) {}

  onApplicationBootstrap(): void {
    const { intervalMs, log } = this.settings;
    if (intervalMs === null) return;
    const once = () => {
      this.running = this.scheduler
        .tick()
        .then((r) => logTick(r, log))
        .catch((e) => log(`tick failed: ${errorText(e)}`))
        .then(() => this.sweepIfDue());
    };
    once();
    this.timer = setInterval(once, intervalMs);
    this.timer.unref();
  }

  private async sweepIfDue(): Promise<void> {
    const { retention, log } = this.settings;
    if (!retention?.intervalMs) return;
    const now = this.scheduler.now();
    if (this.lastSweepAt !== null && now.getTime() - this.lastSweepAt < retention.intervalMs)
      return;
    // a failed sweep counts too: the next one is due an interval later, not at the next tick
    this.lastSweepAt = now.getTime();
    try {
      const report = await retention.sweep.sweep({ now });
      for (const e of report.expired)
        log(`retention expired ${e.computation} ${e.date}: ${e.versions.length} version(s)`);
    } catch (e) {
      log(`retention sweep failed: ${errorText(e)}`);
    }
  }

  async beforeApplicationShutdown(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    await this.running;
  }
}

const errorText = (e: unknown) => (e instanceof Error ? e.message : String(e));

function logTick(r: TickResult, log: (line: string) => void): void {
  for (const run of r.requested)
    log(`requested run ${run.runId} for ${run.date}: ${run.targets.join(', ')}`);
}

interface PrincipalRequest {
  principal?: { name: string };
}

function badRequest(message: string): HttpException {
  return new HttpException({ statusCode: 400, message }, 400);
}

function parseAt(at: unknown): Date | undefined {
  if (at === undefined || at === null || at === '') return undefined;
  const d = typeof at === 'string' ? new Date(at) : new Date(NaN);
  if (Number.isNaN(d.getTime()) || !/^\d{4}-\d{2}-\d{2}T/.test(String(at)))
    throw badRequest(
      `at: expected an ISO time such as 2026-12-01T02:00:00Z, got ${JSON.stringify(at)}`,
    );
  return d;
}

/**
 * Schedules over HTTP. Reads need the viewer role, the POSTs the operator role (the api's guard,
 * registered by the application that hosts this module). POST /tick is Cloud Scheduler's trigger.
 */
@Controller()
class SchedulesController {
  constructor(@Inject(SCHEDULER_SERVICE) private readonly scheduler: SchedulerService) {}

  @Get('schedules')
  list(@Query('at') at?: string, @Query('count') count?: string) {
    const n = count === undefined ? 3 : Number(count);
    if (!Number.isInteger(n) || n < 0 || n > 100)
      throw badRequest(`count: expected an integer from 0 to 100, got ${JSON.stringify(count)}`);
    return this.scheduler.list(parseAt(at), n);
  }

  @Post('tick')
  @HttpCode(200)
  tick(@Body() body: { at?: unknown } | undefined) {
    return this.scheduler.tick(parseAt(body?.at));
  }

  @Post('schedules/:computation/pause')
  @HttpCode(200)
  async pause(
    @Param('computation') computation: string,
    @Body() body: { reason?: unknown } | undefined,
    @Req() req: PrincipalRequest,
  ) {
    const reason = body?.reason;
    if (reason !== undefined && (typeof reason !== 'string' || reason.length > 500))
      throw badRequest('reason: expected a string of at most 500 characters');
    return this.change(() =>
      this.scheduler.pause(computation, req.principal?.name ?? 'anonymous', reason),
    ).then((changed) => ({ computation, paused: true, changed }));
  }

  @Post('schedules/:computation/resume')
  @HttpCode(200)
  async resume(@Param('computation') computation: string, @Req() req: PrincipalRequest) {
    return this.change(() =>
      this.scheduler.resume(computation, req.principal?.name ?? 'anonymous'),
    ).then((changed) => ({ computation, paused: false, changed }));
  }

  private async change(fn: () => Promise<boolean>): Promise<boolean> {
    try {
      return await fn();
    } catch (e) {
      if (e instanceof UnknownScheduleError)
        throw new HttpException({ statusCode: 404, message: e.message }, 404);
      throw e;
    }
  }
}

/**
 * The scheduler in a Nest application: its HTTP routes and, with `intervalMs`, a tick on a timer
 * that also runs `retention` when given (the gcp scheduler service and `almanac serve`).
 */
@Module({})
export class SchedulerModule {
  static register(
    scheduler: SchedulerService,
    opts: { intervalMs: number | null; log?: (line: string) => void; retention?: TimerRetention },
  ): DynamicModule {
    const log =
      opts.log ?? ((line: string) => process.stdout.write(`almanac scheduler: ${line}\n`));
    const settings: TickSettings = { intervalMs: opts.intervalMs, log, retention: opts.retention };
    return {
      module: SchedulerModule,
      controllers: [SchedulesController],
      providers: [
        { provide: SCHEDULER_SERVICE, useValue: scheduler },
        { provide: TICK_SETTINGS, useValue: settings },
        {
          provide: SchedulerTimer,
          inject: [SCHEDULER_SERVICE, TICK_SETTINGS],
          useFactory: (s: SchedulerService, t: TickSettings) => new SchedulerTimer(s, t),
        },
      ],
    };
  }
}
