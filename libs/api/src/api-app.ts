import {
  Catch,
  type ArgumentsHost,
  type ExceptionFilter,
  type INestApplication,
  type ModuleMetadata,
} from '@nestjs/common';
import { APP_FILTER } from '@nestjs/core';
import type { IncomingMessage } from 'node:http';
import type { NestExpressApplication } from '@nestjs/platform-express';
import { DocumentBuilder, SwaggerModule } from '@nestjs/swagger';
import type { AlmanacMetrics, ServiceHandle } from '@almanac/platform';
import { hostService } from '@almanac/platform';
import { AlmanacQueries, ApiRequestError } from './api-queries';
import {
  ComputationsController,
  DecisionsController,
  METRICS,
  OperationsController,
  ProjectionsController,
  QUERIES,
  RunsController,
} from './api.controllers';
import { BackfillsController } from './backfills.controller';
import { GraphController } from './graph/graph.controller';
import { authProviders } from './auth/auth.guard';
import { MaintenanceController } from './maintenance.controller';
import { assertSafeBind, type Authenticator } from './auth/authenticator';
import { ApiMetrics } from './metrics';
import type { RateLimit } from './rate-limit/rate-limit.policy';
import { rateLimitProviders } from './rate-limit/rate-limit.guard';
import {
  bodyErrorMiddleware,
  browserSafetyMiddleware,
} from './browser-safety/browser-safety.middleware';
import {
  browserSafetyPolicy,
  isJsonContentType,
  type BrowserSafetySettings,
} from './browser-safety/browser-safety.policy';

interface JsonResponse {
  status(code: number): JsonResponse;
  json(body: unknown): void;
}

/** ApiRequestError -> 400/404/409/422 with the message; anything else keeps Nest's handling. */
@Catch(ApiRequestError)
class ApiRequestErrorFilter implements ExceptionFilter {
  catch(e: ApiRequestError, host: ArgumentsHost) {
    const res = host.switchToHttp().getResponse<JsonResponse>();
    res.status(e.status).json({
      statusCode: e.status,
      message: e.message,
      ...(e.issues ? { issues: e.issues } : {}),
      ...(e.details ? { details: e.details } : {}),
    });
  }
}

export const API_CONTROLLERS = [
  RunsController,
  ComputationsController,
  DecisionsController,
  ProjectionsController,
  OperationsController,
  MaintenanceController,
  BackfillsController,
  GraphController,
];

interface TimedRequest {
  method: string;
  baseUrl?: string;
  route?: { path: string };
}
interface TimedResponse {
  statusCode: number;
  on(event: 'finish', fn: () => void): void;
}

/**
 * Hosts the api: every endpoint of api.controllers.ts behind the auth guard, /health, /metrics,
 * the OpenAPI document at /docs (Swagger UI served from the installed package, no CDN) and the
 * status page at /status. Refuses a non-loopback address when auth is disabled. Before any route,
 * the browser-safety checks (Host, Origin, CORS, JSON bodies only); bodies are parsed as JSON only.
 * After authentication, the rate limit per caller (none when `rateLimit` is null).
 */
export async function hostApi(opts: {
  handle: ServiceHandle;
  queries: AlmanacQueries;
  authenticator: Authenticator;
  browserSafety: BrowserSafetySettings;
  rateLimit: RateLimit | null;
  /** the rate limiter's clock, in ms (default Date.now; tests pass their own) */
  rateLimitClock?: () => number;
  host: string;
  port: number;
  /** more modules behind the same guard (the scheduler's routes in `almanac serve`) */
  imports?: ModuleMetadata['imports'];
  /** the process's registry: /metrics serves it with the api's own metrics */
  metrics: AlmanacMetrics;
}): Promise<INestApplication> {
  assertSafeBind(opts.host, opts.authenticator.enabled);
  const { backend } = opts.queries;
  const metrics = new ApiMetrics(opts.metrics, {
    views: () => backend.projections.views,
    now: () => backend.clock(),
  });
  opts.metrics.trackProjection('api', backend.store, () => backend.projections.position);
  const safety = browserSafetyPolicy({
    listenHost: opts.host,
    authEnabled: opts.authenticator.enabled,
    settings: opts.browserSafety,
  });
  return hostService(opts.handle, {
    host: opts.host,
    port: opts.port,
    // no urlencoded parser: a form post must never become a request body
    bodyParser: false,
    controllers: API_CONTROLLERS,
    imports: opts.imports,
    providers: [
      { provide: QUERIES, useValue: opts.queries },
      { provide: METRICS, useValue: metrics },
      { provide: APP_FILTER, useClass: ApiRequestErrorFilter },
      ...authProviders(opts.authenticator),
      // after the auth guard: it keys the buckets by the principal that guard sets
      ...rateLimitProviders(opts.rateLimit, opts.rateLimitClock),
    ],
    configure(app) {
      app.use((req: TimedRequest, res: TimedResponse, next: () => void) => {
        const t0 = process.hrtime.bigint();
        res.on('finish', () => {
          const route = req.route ? `${req.baseUrl ?? ''}${req.route.path}` : 'unmatched';
          metrics.observeRequest(
            req.method,
            route,
            res.statusCode,
            Number(process.hrtime.bigint() - t0) / 1e9,
          );
        });
        next();
      });
      app.use(browserSafetyMiddleware(safety));
      (app as NestExpressApplication).useBodyParser('json', {
        type: (req: IncomingMessage) => {
          const type = req.headers['content-type'];
          return isJsonContentType(Array.isArray(type) ? type[0] : type);
        },
      });
      app.use(bodyErrorMiddleware());
      const document = SwaggerModule.createDocument(
        app,
        new DocumentBuilder()
          .setTitle('Almanac api')
          .setDescription(
            'Runs, computations, decisions and projections of the Almanac event log. ' +
              'GET needs a viewer token, everything else an operator token (when auth is enabled).',
          )
          .setVersion('1')
          .addBearerAuth()
          .build(),
      );
      SwaggerModule.setup('docs', app, document, { jsonDocumentUrl: 'docs/openapi.json' });
    },
  });
}
