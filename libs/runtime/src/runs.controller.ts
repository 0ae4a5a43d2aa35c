import {
  BadRequestException,
  Body,
  Controller,
  Get,
  HttpCode,
  Inject,
  NotFoundException,
  Param,
  Post,
} from '@nestjs/common';
import { z } from 'zod';
import { eventIds, IsoDate, makeEvent, streams } from '@almanac/contracts';
import type { EventStore } from '@almanac/eventlog';
import { newRunId } from './embedded-engine';
import type { EventPublisher } from './event-publisher';
import { readRunView } from './queries';

export const API_DEPS = Symbol('almanac.ApiDeps');
export interface ApiDeps {
  store: EventStore;
  publisher: EventPublisher;
  clock: () => Date;
}

export const RunRequestBody = z
  .object({
    date: IsoDate,
    targets: z.array(z.string().min(1)).default([]),
    entityIds: z.array(z.string().min(1)).optional(),
    force: z.boolean().default(false),
    dryRun: z.boolean().default(false),
  })
  .strict();

/** Requesting runs and reading them back (the rest of the api comes with issue 4). */
@Controller('runs')
export class RunsController {
  constructor(@Inject(API_DEPS) private readonly deps: ApiDeps) {}

  @Post()
  @HttpCode(202)
  async request(@Body() body: unknown): Promise<{ runId: string }> {
    const parsed = RunRequestBody.safeParse(body ?? {});
    if (!parsed.success) {
      // a bad body appends nothing
      throw new BadRequestException({
        message: 'invalid run request',
        issues: parsed.error.issues,
      });
    }
    const now = this.deps.clock();
    const runId = newRunId(now);
    const r = parsed.data;
    await this.deps.publisher.publish([
      makeEvent({
        type: 'RunRequested',
        eventId: eventIds.runRequested(runId),
        streamId: streams.run(runId),
        correlationId: runId,
        causationId: null,
        producer: 'api',
        occurredAt: now.toISOString(),
        payload: {
          runId,
          date: r.date,
          targets: r.targets,
          entityIds: r.entityIds && r.entityIds.length > 0 ? r.entityIds : undefined,
          force: r.force,
          dryRun: r.dryRun,
          requestedBy: 'api',
        },
      }),
    ]);
    return { runId };
  }

  @Get(':id')
  async get(@Param('id') id: string) {
    const view = await readRunView(this.deps.store, id);
    if (!view) throw new NotFoundException(`unknown run "${id}"`);
    return view;
  }
}
