import { runGcpService } from '@almanac/platform';
import { BackfillModule } from '@almanac/services/backfill';

// The deployed scheduler (gcp profile): backfills (the RunRequested of their dates) and /health.
void runGcpService('scheduler', BackfillModule.register());
