import { Logger as NestLogger, type DynamicModule, type INestApplication } from '@nestjs/common';
import { openGcpProfile, type GcpProfile } from './gcp-profile';
import { gcpReadiness } from './gcp-readiness';
import { parseServiceEnv, type ServiceEnv } from './service-env';
import { hostService, type ServiceHandle } from './service-host';
import { createLogger, serviceLogFormat, type Logger } from './logging/logger';
import { nestLogger } from './logging/nest-logger';
import { ProfileModule, type ServiceName } from './service-module';
import { initTracing } from './tracing';

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
  let logger: Logger | undefined;
  try {
    const serviceEnv = parseServiceEnv(env, name);
    // before the clients open: trace ids exist from the first message on (ADR 0022)
    const tracing = initTracing({ service: name, env });
    logger = createLogger({
      service: name,
      format: serviceLogFormat(serviceEnv.ALMANAC_LOG_FORMAT, Boolean(process.stdout.isTTY)),
      level: serviceEnv.ALMANAC_LOG_LEVEL,
      projectId: serviceEnv.GOOGLE_CLOUD_PROJECT,
    });
    const log = logger;
    // every Nest logger of this process (one service a process) writes through it
    NestLogger.overrideLogger(nestLogger(log));
    const profile = await openGcpProfile(serviceEnv, name, { logger: log });
    const handle: ServiceHandle = {
      name,
      health: () => ({ owner: profile.owner, ...profile.stats }),
      readiness: gcpReadiness(profile),
      // stop pulling and finish in-flight messages while /health/ready answers 503
      drain: () => {
        log.info(`almanac ${name}: stopping: finishing in-flight messages`);
        return profile.bus.close();
      },
      close: async () => {
        await profile.close();
        await tracing.shutdown(); // exports the spans still buffered
        log.info(`almanac ${name}: stopped`);
      },
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
    // the line that supervisors and tests read to find the service: the URL ends at a space, in
    // the JSON line too
    log.info(
      { url, owner: profile.owner },
      `almanac ${name}: listening on ${url} (pid ${process.pid})`,
    );
  } catch (e) {
    const message = e instanceof Error ? e.message : String(e);
    const line = message.startsWith('almanac ') ? message : `almanac ${name}: ${message}`;
    if (logger) logger.error(line);
    else process.stderr.write(`${line}\n`);
    process.exitCode = 1;
  }
}
