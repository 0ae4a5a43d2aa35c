import 'reflect-metadata';
import { NestFactory } from '@nestjs/core';

/**
 * Boots one service's Nest module as an application context with shutdown hooks. Exits non-zero
 * with the reason when it cannot start.
 */
export async function bootstrapService(module: unknown, name: string): Promise<void> {
  try {
    const app = await NestFactory.createApplicationContext(module as never, {
      logger: ['error', 'warn'],
    });
    app.enableShutdownHooks();
    process.stderr.write(`almanac ${name}: started (shell only; see README "How it works")\n`);
  } catch (e) {
    process.stderr.write(`almanac ${name}: ${e instanceof Error ? e.message : String(e)}\n`);
    process.exitCode = 1;
  }
}
