import { runGcpService } from '@almanac/runtime';

// The api service of the gcp profile: environment in, /health out (see README "Running distributed").
if (require.main === module) void runGcpService('api');
