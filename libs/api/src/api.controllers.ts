import {
  Body,
  Controller,
  Get,
  Header,
  Headers,
  HttpCode,
  Inject,
  Param,
  Post,
  Query,
  Req,
  Res,
  ForbiddenException,
} from '@nestjs/common';
import {
  ApiBearerAuth,
  ApiBody,
  ApiHeader,
  ApiOperation,
  ApiParam,
  ApiQuery,
  ApiTags,
} from '@nestjs/swagger';
import { AlmanacQueries } from './api-queries';
import {
  AnalyzeBody,
  DateParam,
  IdempotencyKey,
  jsonSchemaOf,
  ManagementBody,
  parseOr400,
  RunRequestBody,
  RunsQuery,
  StatusQuery,
} from './api-schemas';
import { Public } from '@almanac/platform';
import { RequireRole } from './auth/auth.guard';
import type { Principal } from './auth/authenticator';
import type { ApiMetrics } from './metrics';
import { renderStatusPage } from './status-page/status-page';
import { AnalyzeRangeBody, isRangeBody } from './preview/preview-schemas';

// explicit tokens everywhere: the CLI runs through esbuild, which emits no decorator metadata (ADR 0003)
export const QUERIES = Symbol('almanac.AlmanacQueries');
export const METRICS = Symbol('almanac.MetricsRegistry');

type AuthedRequest = { principal?: Principal };
type HeaderSink = { setHeader(name: string, value: string): unknown };
const who = (req: AuthedRequest) => req.principal?.name ?? 'api';

@ApiTags('runs')
@ApiBearerAuth()
@Controller('runs')
export class RunsController {
  constructor(@Inject(QUERIES) private readonly q: AlmanacQueries) {}

  @Post()
  @HttpCode(202)
  @ApiOperation({ summary: 'Request a run: appends and publishes RunRequested; answers its id' })
  @ApiBody({ schema: jsonSchemaOf(RunRequestBody) })
  @ApiHeader({
    name: 'Idempotency-Key',
    required: false,
    description:
      'retries with the same key (same caller) answer the first run, 202 with Idempotent-Replayed: true, and append nothing; the same key with another body is 422',
  })
  async request(
    @Body() body: unknown,
    @Req() req: AuthedRequest,
    @Headers('idempotency-key') key: string | undefined,
    @Res({ passthrough: true }) res: HeaderSink,
  ) {
    const r = parseOr400(RunRequestBody, body, 'run request');
    const k = key === undefined ? undefined : parseOr400(IdempotencyKey, key, 'Idempotency-Key');
    const { runId, replayed } = await this.q.requestRun({ ...r, requestedBy: who(req) }, k);
    if (replayed) res.setHeader('Idempotent-Replayed', 'true');
    return { runId };
  }

  @Get()
  @ApiOperation({ summary: 'Runs, newest first, with filters and cursor pagination' })
  @ApiQuery({ name: 'status', required: false, description: 'comma-separated run statuses' })
  @ApiQuery({ name: 'from', required: false, description: 'run date from (YYYY-MM-DD)' })
  @ApiQuery({ name: 'to', required: false, description: 'run date to (YYYY-MM-DD)' })
  @ApiQuery({ name: 'date', required: false, description: 'one run date' })
  @ApiQuery({ name: 'computation', required: false })
  @ApiQuery({ name: 'limit', required: false, description: '1..200, default 20' })
  @ApiQuery({ name: 'cursor', required: false, description: 'nextCursor of the previous page' })
  list(@Query() query: unknown) {
    const f = parseOr400(RunsQuery, query, 'query');
    return this.q.listRuns({
      ...f,
      from: f.date ?? f.from,
      to: f.date ?? f.to,
    });
  }

  @Get(':id')
  @ApiOperation({ summary: "A run's view: status, passes, every computation's progress" })
  @ApiParam({ name: 'id' })
  get(@Param('id') id: string) {
    return this.q.getRun(id);
  }

  @Get(':id/events')
  @ApiOperation({ summary: "The run's timeline, from the log" })
  @ApiParam({ name: 'id' })
  events(@Param('id') id: string) {
    return this.q.runEvents(id);
  }
}

@ApiTags('computations')
@ApiBearerAuth()
@Controller('computations')
export class ComputationsController {
  constructor(@Inject(QUERIES) private readonly q: AlmanacQueries) {}

  @Get()
  @ApiOperation({
    summary: 'The manifest: passes, dependencies, schedules, code hashes (and statuses for ?date=)',
  })
  @ApiQuery({ name: 'date', required: false })
  @ApiQuery({ name: 'asOf', required: false, description: 'ISO timestamp: state at that time' })
  list(@Query() query: unknown) {
    const { date, asOf } = parseOr400(StatusQuery, query, 'query');
    return this.q.computations(date, asOf);
  }

  @Get(':name/dates/:date')
  @ApiOperation({
    summary: 'Status, composite hash and its parts, result hash, decision history, failed entities',
  })
  @ApiParam({ name: 'name' })
  @ApiParam({ name: 'date' })
  date(@Param('name') name: string, @Param('date') date: string) {
    return this.q.computationDate(name, parseOr400(DateParam, date, 'date'));
  }
}

@ApiTags('decisions')
@ApiBearerAuth()
@Controller()
export class DecisionsController {
  constructor(@Inject(QUERIES) private readonly q: AlmanacQueries) {}

  @Get('status.json')
  @ApiOperation({ summary: "Each computation's latest status for a date (default: latest run's)" })
  @ApiQuery({ name: 'date', required: false })
  @ApiQuery({ name: 'asOf', required: false, description: 'ISO timestamp: state at that time' })
  status(@Query() query: unknown) {
    const { date, asOf } = parseOr400(StatusQuery, query, 'query');
    return this.q.status(date, asOf);
  }

  @Post('analyze')
  @HttpCode(200)
  @RequireRole('viewer')
  @ApiOperation({
    summary:
      'What a run of a date (date), or runs of every date of a range (from, to), would run, skip, block or find impossible, and why; appends nothing',
  })
  @ApiBody({ schema: jsonSchemaOf(AnalyzeBody.or(AnalyzeRangeBody)) })
  async analyze(@Body() body: unknown) {
    if (isRangeBody(body)) {
      const r = parseOr400(AnalyzeRangeBody, body, 'preview request');
      return this.q.previewRange(r.from, r.to, r.targets, r);
    }
    const b = parseOr400(AnalyzeBody, body, 'run request');
    return {
      date: b.date,
      computations: await this.q.analyze(b.date, b.targets, {
        force: b.force,
        forceUpstream: b.forceUpstream,
      }),
    };
  }

  @Get('explain/:name/:date')
  @ApiOperation({
    summary: 'For the latest decision, which hash parts changed against the previous result',
  })
  @ApiParam({ name: 'name' })
  @ApiParam({ name: 'date' })
  explain(@Param('name') name: string, @Param('date') date: string) {
    return this.q.explain(name, parseOr400(DateParam, date, 'date'));
  }

  @Get('audit/:name/:date')
  @ApiOperation({
    summary: 'Lineage of the current result: its run, hash parts, dependency results, decisions',
  })
  @ApiParam({ name: 'name' })
  @ApiParam({ name: 'date' })
  @ApiQuery({ name: 'asOf', required: false, description: 'ISO timestamp: lineage at that time' })
  audit(@Param('name') name: string, @Param('date') date: string, @Query() query: unknown) {
    const { asOf } = parseOr400(StatusQuery.pick({ asOf: true }), query, 'query');
    return this.q.audit(name, parseOr400(DateParam, date, 'date'), asOf);
  }

  /** The seed's management call, kept for compatibility (DESIGN appendix). */
  @Post()
  @HttpCode(200)
  @RequireRole('viewer')
  @ApiOperation({
    summary: 'Seed-compatible management call: {action: "status" | "analyze" | "run", ...}',
  })
  @ApiBody({ schema: jsonSchemaOf(ManagementBody) })
  async manage(@Body() body: unknown, @Req() req: AuthedRequest) {
    const b = parseOr400(ManagementBody, body, 'management request');
    switch (b.action) {
      case 'status': {
        const s = await this.q.status(b.date);
        return {
          action: 'status',
          date: s.date,
          computations: s.computations.map((r) => ({
            name: r.computation,
            pass: r.pass,
            type: r.type,
            status: r.status,
            runId: r.runId,
            resultHash: r.resultHash,
            upToDate: r.status === 'completed' || r.status === 'skipped',
          })),
        };
      }
      case 'analyze':
        return {
          action: 'analyze',
          date: b.date,
          computations: await this.q.analyze(b.date, b.computation ? [b.computation] : [], {
            force: b.force,
            forceUpstream: false,
          }),
        };
      case 'run': {
        // the only mutating action: operator only
        if (req.principal && req.principal.role !== 'operator')
          throw new ForbiddenException(
            `action "run" needs the operator role; ${req.principal.name} is a ${req.principal.role}`,
          );
        const { runId } = await this.q.requestRun({
          date: b.date,
          targets: b.computation ? [b.computation] : [],
          entityIds: b.entityId ? [b.entityId] : undefined,
          force: b.force,
          dryRun: b.dryRun,
          requestedBy: who(req),
        });
        return { action: 'run', runId, status: 'requested' };
      }
    }
  }
}

@ApiTags('projections')
@ApiBearerAuth()
@Controller('projections')
export class ProjectionsController {
  constructor(@Inject(QUERIES) private readonly q: AlmanacQueries) {}

  @Post('rebuild')
  @HttpCode(200)
  @ApiOperation({ summary: 'Drop the checkpointed views and fold the whole log again' })
  rebuild() {
    return this.q.backend.projections.rebuild();
  }

  @Get('verify')
  @ApiOperation({ summary: 'Fold the log from scratch and compare with the live views' })
  verify() {
    return this.q.backend.projections.verify();
  }
}

@ApiTags('operations')
@Controller()
export class OperationsController {
  constructor(
    @Inject(QUERIES) private readonly q: AlmanacQueries,
    @Inject(METRICS) private readonly metrics: ApiMetrics,
  ) {}

  @Get('metrics')
  @ApiBearerAuth()
  @Header('Content-Type', 'text/plain; version=0.0.4; charset=utf-8')
  @ApiOperation({ summary: 'Prometheus metrics' })
  async prometheus() {
    await this.q.backend.projections.catchUp();
    return this.metrics.render();
  }

  @Get('status')
  @Public()
  @Header('Content-Type', 'text/html; charset=utf-8')
  @ApiOperation({ summary: 'The status page (HTML): DAG, recent runs, failed entities, timeline' })
  page() {
    return renderStatusPage();
  }
}
