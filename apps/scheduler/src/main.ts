import { runGcpService } from '@almanac/platform';

// The deployed scheduler (gcp profile): /health only until schedules exist (issue 10).
void runGcpService('scheduler', null);
