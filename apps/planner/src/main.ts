import { runGcpService } from '@almanac/platform';
import { PlannerModule } from '@almanac/services/planner';

// The deployed planner (gcp profile): environment in, its module over Pub/Sub and Spanner, /health out.
void runGcpService('planner', PlannerModule.register());
