import type { DynamicModule, INestApplication } from '@nestjs/common';
import { openGcpProfile, type GcpProfile } from './gcp-profile';
import { gcpReadiness } from './gcp-readiness';
import { parseServiceEnv, type ServiceEnv } from './service-env';
import { hostService, type ServiceHandle } from './service-host';
import { ProfileModule, type ServiceName } from './service-module';

/**
 * Entry point of a deployed service (apps/<service>/src/main.ts): validates the environment,
 * opens the gcp profile, boots the service's module over it and serves /metrics, /health,
 * /health/live and /health/ready (readiness: Spanner and the subscriptions; `host` replaces
 * the plain health server, as the api does). Exits non-zero naming the problem.
 */
export async function runGcpService(
  name: ServiceName,
  serviceModule: DynamicModule | null,
  opts: {
    env?: NodeJS.ProcessEnv;
    host?: (
      profile: GcpProfile,
      handle: ServiceHandle,
      serviceEnv: ServiceEnv,
    ) => Promise<INestApplication>;
  } = {},
): Promise<void> {
  const env = opts.env ?? process.env;
  try {
    const serviceEnv = parseServiceEnv(env, name);
    const profile = await openGcpProfile(serviceEnv, name);
    const handle: ServiceHandle = {
      name,
      health: () => ({ owner: profile.owner, ...profile.stats }),
      readiness: gcpReadiness(profile),
      // stop pulling and finish in-flight messages while /health/ready answers 503
      drain: () => profile.bus.close(),
      close: () => profile.close(),
    };
    let app: INestApplication;
    try {
      app = opts.host
        ? await opts.host(profile, handle, serviceEnv)
        : await hostService(handle, {
            port: serviceEnv.PORT,
            host: serviceEnv.HOST,
            imports: [ProfileModule.forContext(profile), ...(serviceModule ? [serviceModule] : [])],
            metrics: profile.metrics,
          });
    } catch (e) {
      await profile.close();
      throw e;
    }
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
