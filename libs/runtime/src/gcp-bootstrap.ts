import { openGcpProfile, startGcpService, type ServiceName } from './gcp-profile';
import { API_DEPS, RunsController } from './runs.controller';
import { parseServiceEnv } from './service-env';
import { hostService } from './service-host';

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
    const app = await hostService(handle, {
      port: serviceEnv.PORT,
      host: serviceEnv.HOST,
      controllers: name === 'api' ? [RunsController] : [],
      providers:
        name === 'api'
          ? [
              {
                provide: API_DEPS,
                useValue: {
                  store: profile.store,
                  publisher: profile.publisher,
                  clock: () => new Date(),
                },
              },
            ]
          : [],
    });
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
