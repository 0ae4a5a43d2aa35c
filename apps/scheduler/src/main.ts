import { authProviders, resolveAuth, assertSafeBind } from '@almanac/api';
import { hostService, ProfileModule, RetentionSweep, runGcpService } from '@almanac/platform';
import { BackfillModule } from '@almanac/services/backfill';
import { SchedulerModule, SchedulerService } from '@almanac/services/scheduler';

// The deployed scheduler (gcp profile): backfills (the RunRequested of their dates); ticks every scheduler.tickIntervalMs (or
// ALMANAC_TICK_INTERVAL_MS; 0: no timer) and serves POST /tick for Cloud Scheduler, GET /schedules
// and pause/resume, behind the api's authentication (ALMANAC_API_TOKENS, api.auth). Its timer also
// runs the retention sweep (ADR 0018) every scheduler.retentionIntervalMs (0 or null: never).
void runGcpService('scheduler', null, {
  host: (profile, handle, serviceEnv) => {
    const authenticator = resolveAuth({ settings: profile.config.api?.auth, env: process.env });
    assertSafeBind(serviceEnv.HOST, authenticator.enabled);
    const scheduler = new SchedulerService({
      store: profile.store,
      publisher: profile.publisher,
      project: profile.project,
      settings: profile.config.scheduler,
      clock: () => new Date(),
    });
    const every = serviceEnv.ALMANAC_TICK_INTERVAL_MS ?? profile.config.scheduler.tickIntervalMs;
    return hostService(handle, {
      port: serviceEnv.PORT,
      host: serviceEnv.HOST,
      imports: [
        ProfileModule.forContext(profile),
        SchedulerModule.register(scheduler, {
          intervalMs: every === 0 ? null : every,
          // after a tick, at most every scheduler.retentionIntervalMs: over the Spanner results
          retention: {
            sweep: new RetentionSweep({
              log: profile.store,
              publisher: profile.publisher,
              results: profile.results,
              project: profile.project,
              producer: 'scheduler',
            }),
            intervalMs: profile.config.scheduler.retentionIntervalMs,
          },
        }),
        BackfillModule.register(),
      ],
      providers: authProviders(authenticator),
      metrics: profile.metrics,
    });
  },
});
