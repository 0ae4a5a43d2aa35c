import { bootstrapService } from '@almanac/runtime';
import { WorkerModule, SERVICE_NAME } from './app.module';

if (require.main === module) void bootstrapService(WorkerModule, SERVICE_NAME);
