import { runGcpService } from '@almanac/runtime';

// The scheduler service of the gcp profile: environment in, /health out (see README "Running distributed").
if (require.main === module) void runGcpService('scheduler');
