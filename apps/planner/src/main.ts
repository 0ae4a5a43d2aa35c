import { bootstrapService } from '@almanac/runtime';
import { PlannerModule, SERVICE_NAME } from './app.module';

if (require.main === module) void bootstrapService(PlannerModule, SERVICE_NAME);
