import { bootstrapService } from '@almanac/runtime';
import { ApiModule, SERVICE_NAME } from './app.module';

if (require.main === module) void bootstrapService(ApiModule, SERVICE_NAME);
