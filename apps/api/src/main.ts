import { runGcpApi } from '@almanac/api';

// The deployed api (gcp profile): runs, views checkpointed in Spanner, the status page, /health.
void runGcpApi();
