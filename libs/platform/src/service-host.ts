import 'reflect-metadata';
import {
  Controller,
  Get,
  Inject,
  Module,
  SetMetadata,
  type CustomDecorator,
  type INestApplication,
  type ModuleMetadata,
  type OnApplicationShutdown,
  type Provider,
  type Type,
} from '@nestjs/common';
import { NestFactory } from '@nestjs/core';

export const PUBLIC_KEY = 'almanac:auth:public';

/** No authentication: health, the status page HTML, the OpenAPI document. */
export const Public = (): CustomDecorator<string> => SetMetadata(PUBLIC_KEY, true);

/** A running service: what it reports on /health and how it stops. */
export interface ServiceHandle {
  readonly name: string;
  health(): Record<string, unknown>;
  /** stop pulling, finish or release in-flight work, flush publishes */
  close(): Promise<void>;
}

export const SERVICE_HANDLE = Symbol('almanac.ServiceHandle');

@Controller()
class HealthController {
  // explicit token: the CLI runs through esbuild, which emits no decorator metadata (ADR 0003)
  constructor(@Inject(SERVICE_HANDLE) private readonly handle: ServiceHandle) {}

  @Get('health')
  @Public()
  health() {
    return { service: this.handle.name, status: 'ok', ...this.handle.health() };
  }
}

class ShutdownHook implements OnApplicationShutdown {
  constructor(@Inject(SERVICE_HANDLE) private readonly handle: ServiceHandle) {}
  async onApplicationShutdown(): Promise<void> {
    await this.handle.close();
  }
}

/**
 * Hosts a service in a Nest HTTP application: GET /health, and a graceful shutdown that closes the
 * service (stop pulling, finish in-flight work, flush) on SIGTERM/SIGINT.
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
  },
): Promise<INestApplication> {
  @Module({
    imports: opts.imports ?? [],
    controllers: [HealthController, ...(opts.controllers ?? [])],
    providers: [
      { provide: SERVICE_HANDLE, useValue: handle },
      { provide: ShutdownHook, useFactory: () => new ShutdownHook(handle) },
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
