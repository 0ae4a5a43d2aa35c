import 'reflect-metadata';
import { NestFactory } from '@nestjs/core';
import { WorkerModule, SERVICE_NAME } from './app.module';

export async function bootstrap() {
  const app = await NestFactory.createApplicationContext(WorkerModule, {
    logger: ['error', 'warn'],
  });
  app.enableShutdownHooks();
  process.stderr.write(`almanac ${SERVICE_NAME}: started (shell only; see README "Services")\n`);
  return app;
}

if (require.main === module) {
  bootstrap().catch((e) => {
    process.stderr.write(
      `almanac ${SERVICE_NAME}: ${e instanceof Error ? e.message : String(e)}\n`,
    );
    process.exitCode = 1;
  });
}
