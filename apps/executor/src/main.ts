import { runGcpService } from '@almanac/platform';
import { ExecutorModule } from '@almanac/services/executor';

// The deployed executor (gcp profile): environment in, its module over Pub/Sub and Spanner, /health out.
void runGcpService('executor', ExecutorModule.register());
