import { runGcpService } from '@almanac/platform';
import { WorkerModule } from '@almanac/services/worker';

// The deployed worker (gcp profile): environment in, its module over Pub/Sub and Spanner, /health out.
void runGcpService('worker', WorkerModule.register());
