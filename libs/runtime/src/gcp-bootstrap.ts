import type { INestApplication } from '@nestjs/common';
import { createSpannerCheckpointStore } from '@almanac/eventlog';
import { hostApi } from './api/api-app';
import { AlmanacQueries } from './api/api-queries';
import { apiProjections } from './api/api-projections';
import { resolveAuth } from './api/auth/auth-config';
import { openGcpProfile, startGcpService, type GcpProfile, type ServiceName } from './gcp-profile';
import { parseServiceEnv, type ServiceEnv } from './service-env';
import { hostService, type ServiceHandle } from './service-host';

/**
 * Entry point of a deployed service: validates the environment, opens the gcp profile, starts
 * the service and serves /health (and the api's endpoints). Exits non-zero naming the problem.
 */
export async function runGcpService(
  name: ServiceName,
  env: NodeJS.ProcessEnv = process.env,
): Promise<void> {
  try {
    const serviceEnv = parseServiceEnv(env, name);
    const profile = await openGcpProfile(serviceEnv, name);
    const handle = await startGcpService(name, profile);
    const app =
      name === 'api'
        ? await hostGcpApi(profile, handle, serviceEnv, env)
        : await hostService(handle, { port: serviceEnv.PORT, host: serviceEnv.HOST });
    const url = (await app.getUrl()).replace('[::1]', '127.0.0.1');
    // one line that supervisors and tests read to find the service
    process.stdout.write(`almanac ${name}: listening on ${url}\n`);
  } catch (e) {
    const message = e instanceof Error ? e.message : String(e);
    process.stderr.write(
      `${message.startsWith('almanac ') ? message : `almanac ${name}: ${message}`}\n`,
    );
    process.exitCode = 1;
  }
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
  const projections = apiProjections(profile.store, checkpoints, 15_000);
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
  });
  const authenticator = resolveAuth({ settings: profile.config.api?.auth, env });
  try {
    return await hostApi({
      handle: {
        name: handle.name,
        health: () => ({ ...handle.health(), position: projections.position }),
        close: async () => {
          await projections.flush().catch(() => undefined);
          await checkpoints.close();
          await handle.close();
        },
      },
      queries,
      authenticator,
      host: serviceEnv.HOST,
      port: serviceEnv.PORT,
    });
  } catch (e) {
    await handle.close();
    throw e;
  }
}
