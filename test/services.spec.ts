import 'reflect-metadata';
import { NestFactory } from '@nestjs/core';
import { ApiModule } from '../apps/api/src/app.module';
import { ExecutorModule } from '../apps/executor/src/app.module';
import { PlannerModule } from '../apps/planner/src/app.module';
import { SchedulerModule } from '../apps/scheduler/src/app.module';
import { WorkerModule } from '../apps/worker/src/app.module';

// The five services are shells in this issue: each Nest module must boot and shut down cleanly.
describe.each([
  ['scheduler', SchedulerModule],
  ['planner', PlannerModule],
  ['executor', ExecutorModule],
  ['worker', WorkerModule],
  ['api', ApiModule],
])('%s service shell', (name, module) => {
  it('boots a Nest application context that knows its name, and closes', async () => {
    const app = await NestFactory.createApplicationContext(module, { logger: false });
    expect(app.get('SERVICE_NAME')).toBe(name);
    await app.close();
  });
});
