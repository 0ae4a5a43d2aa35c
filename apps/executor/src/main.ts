import { bootstrapService } from '@almanac/runtime';
import { ExecutorModule, SERVICE_NAME } from './app.module';

if (require.main === module) void bootstrapService(ExecutorModule, SERVICE_NAME);
