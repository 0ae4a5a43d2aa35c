import { runGcpService } from '@almanac/runtime';

// The planner service of the gcp profile: environment in, /health out (see README "Running distributed").
if (require.main === module) void runGcpService('planner');
