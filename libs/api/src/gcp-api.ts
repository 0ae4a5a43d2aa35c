import type { INestApplication } from '@nestjs/common';
import { createSpannerCheckpointStore } from '@almanac/eventlog';
import { hostApi } from './api-app';
import { AlmanacQueries } from './api-queries';
import { apiProjections } from './api-projections';
import { resolveAuth } from './auth/auth-config';
import { resolveBrowserSafety } from './browser-safety/browser-safety.policy';
import { resolveRateLimit } from './rate-limit/rate-limit.policy';
import {
  RetentionSweep,
  runGcpService,
  type GcpProfile,
  type ServiceEnv,
  type ServiceHandle,
} from '@almanac/platform';

/** The deployed api service (apps/api): the gcp profile's api with its views in Spanner. */
export function runGcpApi(env: NodeJS.ProcessEnv = process.env): Promise<void> {
  return runGcpService('api', null, {
    env,
    host: (profile, handle, serviceEnv) => hostGcpApi(profile, handle, serviceEnv, env),
  });
}

/** The api of the gcp profile: views checkpointed in Spanner, runs requested over Pub/Sub. */
async function hostGcpApi(
  profile: GcpProfile,
  handle: ServiceHandle,
  serviceEnv: ServiceEnv,
  env: NodeJS.ProcessEnv,
): Promise<INestApplication> {
  const checkpoints = createSpannerCheckpointStore(profile.database);
  // every save is a read-write transaction: at most one every 15 s (flushed on shutdown)
  const projections = apiProjections(profile.store, checkpoints, 15_000, {
    recentRuns: profile.config.api?.recentRuns,
  });
  const queries = new AlmanacQueries({
    profile: 'gcp',
    store: profile.store,
    publisher: profile.publisher,
    project: profile.project,
    config: profile.config,
    warehouse: profile.warehouse,
    projections,
    clock: () => new Date(),
    // status pages and scripts poll; on the emulator every read competes with the writers
    maxStalenessMs: 1_000,
    retention: new RetentionSweep({
      log: profile.store,
      publisher: profile.publisher,
      results: profile.results,
      project: profile.project,
      producer: 'api',
    }),
  });
  const authenticator = resolveAuth({ settings: profile.config.api?.auth, env });
  const browserSafety = resolveBrowserSafety({ env });
  const rateLimit = resolveRateLimit({
    setting: profile.config.api?.rateLimit,
    env,
    authEnabled: authenticator.enabled,
  });
  try {
    return await hostApi({
      handle: {
        name: handle.name,
        health: () => ({ ...handle.health(), position: projections.position }),
        readiness: handle.readiness,
        drain: handle.drain,
        close: async () => {
          await projections.flush().catch(() => undefined);
          await checkpoints.close();
          await handle.close();
        },
      },
      queries,
      authenticator,
      browserSafety,
      rateLimit,
      host: serviceEnv.HOST,
      port: serviceEnv.PORT,
      metrics: profile.metrics,
    });
  } catch (e) {
    await handle.close();
    throw e;
  }
}
