import { Body, Controller, Get, HttpCode, Inject, Param, Post, Req } from '@nestjs/common';
import { ApiBearerAuth, ApiBody, ApiOperation, ApiParam, ApiTags } from '@nestjs/swagger';
import { z } from 'zod';
import type { BackfillView } from '@almanac/domain/projections';
import {
  backfillRequestedEvent,
  InvalidBackfillRequestError,
  newBackfillId,
  validateBackfillRequest,
  type BackfillRequest,
} from '@almanac/platform';
import { ApiRequestError, type AlmanacQueries } from './api-queries';
import { jsonSchemaOf, parseOr400 } from './api-schemas';
import { QUERIES } from './api.controllers';
import type { Principal } from './auth/authenticator';

/** POST /backfills: the rules (dates, computations, concurrency) are checked after the shape. */
const BackfillRequestBody = z
  .object({
    from: z.string().meta({ format: 'date', description: 'first date, YYYY-MM-DD' }),
    to: z
      .string()
      .meta({ format: 'date', description: 'last date, YYYY-MM-DD (at most 3660 dates)' }),
    targets: z.array(z.string().min(1)).default([]),
    concurrency: z.number().int().optional(),
    force: z.boolean().default(false),
  })
  .strict();

/** A backfill without its dates: what GET /backfills lists. */
type BackfillSummary = Omit<BackfillView, 'dates'>;

/**
 * Validates (the CLI's rules: validateBackfillRequest), then appends and publishes
 * BackfillRequested; the scheduler's backfill module requests its runs. 404 when the only issue is
 * an unknown computation, else 400, and nothing is appended.
 */
async function requestBackfill(
  q: AlmanacQueries,
  request: BackfillRequest,
): Promise<{ backfillId: string }> {
  const { backend } = q;
  const now = backend.clock();
  let valid;
  try {
    valid = validateBackfillRequest(request, backend.project, backend.config, now);
  } catch (e) {
    if (!(e instanceof InvalidBackfillRequestError)) throw e;
    throw new ApiRequestError(e.code === 'unknown-computation' ? 404 : 400, e.message, e.issues);
  }
  const backfillId = newBackfillId(now);
  await backend.publisher.publish([backfillRequestedEvent(backfillId, now, valid, 'api')]);
  return { backfillId };
}

async function backfills(q: AlmanacQueries) {
  await q.backend.projections.catchUp();
  return q.backend.projections.views.backfills;
}

@ApiTags('backfills')
@ApiBearerAuth()
@Controller('backfills')
export class BackfillsController {
  constructor(@Inject(QUERIES) private readonly q: AlmanacQueries) {}

  @Post()
  @HttpCode(202)
  @ApiOperation({
    summary: 'Request a backfill: one run per date, at most `concurrency` at once; answers its id',
  })
  @ApiBody({ schema: jsonSchemaOf(BackfillRequestBody) })
  request(@Body() body: unknown, @Req() req: { principal?: Principal }) {
    const b = parseOr400(BackfillRequestBody, body, 'backfill request');
    return requestBackfill(this.q, { ...b, requestedBy: req.principal?.name ?? 'api' });
  }

  @Get()
  @ApiOperation({ summary: 'Backfills, newest first, with their progress (without their dates)' })
  async list(): Promise<{ backfills: BackfillSummary[] }> {
    const all = Object.values(await backfills(this.q))
      .sort((a, b) => b.requestedAt.localeCompare(a.requestedAt))
      .map(({ dates: _dates, ...summary }) => summary);
    return { backfills: all };
  }

  @Get(':id')
  @ApiOperation({ summary: "A backfill's progress: counts and every date's status and run" })
  @ApiParam({ name: 'id' })
  async get(@Param('id') id: string): Promise<BackfillView> {
    const found = (await backfills(this.q))[id];
    if (!found) throw new ApiRequestError(404, `unknown backfill "${id}"`);
    return found;
  }
}
