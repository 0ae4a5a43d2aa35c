import { bootstrapService } from '@almanac/runtime';
import { SchedulerModule, SERVICE_NAME } from './app.module';

if (require.main === module) void bootstrapService(SchedulerModule, SERVICE_NAME);
