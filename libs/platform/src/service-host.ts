import 'reflect-metadata';
import {
  Controller,
  Get,
  Header,
  Inject,
  Module,
  SetMetadata,
  type CustomDecorator,
  type INestApplication,
  type ModuleMetadata,
  type BeforeApplicationShutdown,
  type OnApplicationShutdown,
  type Provider,
  type Type,
} from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import {
  HealthCheck,
  HealthCheckService,
  HealthIndicatorService,
  TerminusModule,
} from '@nestjs/terminus';
import { AlmanacMetrics, METRICS_CONTENT_TYPE } from './metrics';

export const PUBLIC_KEY = 'almanac:auth:public';

/** No authentication: health, the status page HTML, the OpenAPI document. */
export const Public = (): CustomDecorator<string> => SetMetadata(PUBLIC_KEY, true);

/**
 * A readiness check of one dependency: resolves when it serves, rejects with an error whose
 * message says what is wrong (it becomes the check's `message` in the 503 body).
 */
export type ReadinessCheck = () => Promise<void>;

/** A running service: what it reports on /health, what readiness checks, and how it stops. */
export interface ServiceHandle {
  readonly name: string;
  health(): Record<string, unknown>;
  /** the checks of /health/ready by name (none: ready while not draining) */
  readonly readiness?: Readonly<Record<string, ReadinessCheck>>;
  /**
   * At shutdown, once readiness is false and while HTTP still answers: stop pulling and finish
   * in-flight work. close() follows when the HTTP server has stopped.
   */
  drain?: () => Promise<void>;
  /** stop pulling, finish or release in-flight work, flush publishes */
  close(): Promise<void>;
}

export const SERVICE_HANDLE = Symbol('almanac.ServiceHandle');

/** Set when shutdown begins: readiness fails from then on, before the service closes. */
class Drain {
  draining = false;
}

@Controller()
class HealthController {
  // explicit tokens: the CLI runs through esbuild, which emits no decorator metadata (ADR 0003)
  constructor(
    @Inject(SERVICE_HANDLE) private readonly handle: ServiceHandle,
    @Inject(Drain) private readonly drain: Drain,
    @Inject(HealthCheckService) private readonly checks: HealthCheckService,
    @Inject(HealthIndicatorService) private readonly indicators: HealthIndicatorService,
  ) {}

  @Get('health')
  @Public()
  health() {
    return { service: this.handle.name, status: 'ok', ...this.handle.health() };
  }

  /** liveness: the process serves HTTP (a failing dependency does not make it live-less) */
  @Get('health/live')
  @Public()
  @HealthCheck()
  live() {
    return this.checks.check([() => this.indicators.check('process').up()]);
  }

  /** readiness: not draining, and every check of the service passes (503 naming those that fail) */
  @Get('health/ready')
  @Public()
  @HealthCheck()
  ready() {
    const draining = () => {
      const check = this.indicators.check('shutdown');
      return this.drain.draining ? check.down({ message: 'draining' }) : check.up();
    };
    const named = Object.entries(this.handle.readiness ?? {}).map(([name, run]) => async () => {
      const check = this.indicators.check(name);
      try {
        await run();
        return check.up();
      } catch (e) {
        return check.down({ message: e instanceof Error ? e.message : String(e) });
      }
    });
    return this.checks.check([draining, ...named]);
  }
}

/** GET /metrics: the process's registry in the Prometheus text format (README "Metrics"). */
@Controller()
class MetricsController {
  constructor(@Inject(AlmanacMetrics) private readonly metrics: AlmanacMetrics) {}

  @Get('metrics')
  @Public()
  @Header('Content-Type', METRICS_CONTENT_TYPE)
  render(): Promise<string> {
    return this.metrics.render();
  }
}

class ShutdownHook implements BeforeApplicationShutdown, OnApplicationShutdown {
  constructor(
    @Inject(SERVICE_HANDLE) private readonly handle: ServiceHandle,
    @Inject(Drain) private readonly drain: Drain,
  ) {}
  /** Nest stops the HTTP server after this hook: readiness fails first, then in-flight work ends */
  async beforeApplicationShutdown(): Promise<void> {
    this.drain.draining = true;
    await this.handle.drain?.();
  }
  async onApplicationShutdown(): Promise<void> {
    await this.handle.close();
  }
}

/**
 * Hosts a service in a Nest HTTP application: GET /health (status), /health/live and
 * /health/ready (terminus), /metrics when given a registry, and a graceful shutdown on SIGTERM/SIGINT: readiness turns false, the
 * service drains (stops pulling, finishes in-flight work), the HTTP server stops, the service closes.
 */
export async function hostService(
  handle: ServiceHandle,
  opts: {
    port: number;
    host: string;
    /** the service's modules (its handlers and subscriptions) */
    imports?: ModuleMetadata['imports'];
    controllers?: Type[];
    providers?: Provider[];
    /** runs before listen: middleware, OpenAPI, checks of the address */
    configure?: (app: INestApplication) => void | Promise<void>;
    /** false: no JSON and urlencoded parsers from Nest (configure registers its own) */
    bodyParser?: boolean;
    /** served at GET /metrics (the api serves its own, behind its auth) */
    metrics?: AlmanacMetrics;
  },
): Promise<INestApplication> {
  const drain = new Drain();
  @Module({
    imports: [TerminusModule.forRoot({ logger: false }), ...(opts.imports ?? [])],
    controllers: [
      HealthController,
      ...(opts.metrics ? [MetricsController] : []),
      ...(opts.controllers ?? []),
    ],
    providers: [
      ...(opts.metrics ? [{ provide: AlmanacMetrics, useValue: opts.metrics }] : []),
      { provide: SERVICE_HANDLE, useValue: handle },
      { provide: Drain, useValue: drain },
      { provide: ShutdownHook, useFactory: () => new ShutdownHook(handle, drain) },
      ...(opts.providers ?? []),
    ],
  })
  class ServiceModule {}
  const app = await NestFactory.create(ServiceModule, {
    logger: ['error', 'warn'],
    bodyParser: opts.bodyParser ?? true,
  });
  app.enableShutdownHooks();
  await opts.configure?.(app);
  await app.listen(opts.port, opts.host);
  return app;
}
