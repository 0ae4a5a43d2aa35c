import { Body, Controller, HttpCode, Inject, Post, Req, Res } from '@nestjs/common';
import { ApiBearerAuth, ApiBody, ApiOperation, ApiTags } from '@nestjs/swagger';
import { z } from 'zod';
import { RequireRole } from './auth/auth.guard';
import type { Principal } from './auth/authenticator';
import { AlmanacQueries } from './api-queries';
import { jsonSchemaOf, parseOr400 } from './api-schemas';
import { QUERIES } from './api.controllers';
import { requestInvalidation, runRetention } from './maintenance';

/** The shape only: invalidationIssues checks the values, with the CLI's messages. */
const InvalidationBody = z.object({
  computations: z.array(z.string()),
  from: z.string(),
  to: z.string(),
  reason: z.string(),
});

const RetentionBody = z.object({
  dryRun: z.boolean().default(false),
  /** decide as of this time instead of now */
  asOf: z.string().datetime({ offset: true }).optional(),
});

type HeaderSink = { setHeader(name: string, value: string): unknown };

@ApiTags('maintenance')
@ApiBearerAuth()
@Controller()
export class MaintenanceController {
  constructor(@Inject(QUERIES) private readonly q: AlmanacQueries) {}

  @Post('invalidations')
  @HttpCode(202)
  @RequireRole('operator')
  @ApiOperation({
    summary:
      'Taint the results of computations for a date range: their next run re-runs them even if nothing changed',
  })
  @ApiBody({ schema: jsonSchemaOf(InvalidationBody) })
  async invalidate(
    @Body() body: unknown,
    @Req() req: { principal?: Principal },
    @Res({ passthrough: true }) res: HeaderSink,
  ) {
    const b = parseOr400(InvalidationBody, body, 'invalidation');
    const answer = await requestInvalidation(this.q.backend, {
      ...b,
      requestedBy: req.principal?.name ?? 'api',
    });
    if (answer.replayed) res.setHeader('Idempotent-Replayed', 'true');
    return answer;
  }

  @Post('retention')
  @HttpCode(200)
  @RequireRole('operator')
  @ApiOperation({
    summary:
      'Expire the result versions of dates older than each computation ttlDays (records ResultVersionsExpired, then deletes)',
  })
  @ApiBody({ schema: jsonSchemaOf(RetentionBody) })
  retention(@Body() body: unknown) {
    const b = parseOr400(RetentionBody, body, 'retention request');
    return runRetention(this.q.backend.retention, {
      now: b.asOf ? new Date(b.asOf) : this.q.backend.clock(),
      dryRun: b.dryRun,
    });
  }
}
