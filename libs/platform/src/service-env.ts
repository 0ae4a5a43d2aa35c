import { z } from 'zod';

/** The environment a deployed service reads (gcp profile), validated before anything starts. */
export const ServiceEnvSchema = z.object({
  /** folder holding almanac.config.ts and the computations */
  ALMANAC_PROJECT_ROOT: z.string().min(1).optional(),
  GOOGLE_CLOUD_PROJECT: z.string().min(1),
  SPANNER_INSTANCE: z.string().min(1),
  SPANNER_DATABASE: z.string().min(1),
  /** source tables with warehouse.kind duckdb: a DuckDB file opened read-only; default from almanac.config.ts */
  ALMANAC_WAREHOUSE_PATH: z.string().min(1).optional(),
  /** the BigQuery API's base URL (an emulator's); absent: Google's */
  ALMANAC_BIGQUERY_ENDPOINT: z.string().url().optional(),
  /** the Cloud Storage API's base URL (an emulator's; the client also reads STORAGE_EMULATOR_HOST) */
  ALMANAC_STORAGE_ENDPOINT: z.string().url().optional(),
  /** HTTP port of the health endpoint (0: any free port) */
  PORT: z.coerce.number().int().min(0).max(65535).default(8080),
  HOST: z.string().default('127.0.0.1'),
  /** this process's identity in leases (default: service name, host and pid) */
  ALMANAC_OWNER: z.string().min(1).optional(),
  /** overrides of almanac.config.ts execution settings, for operators and fault tests */
  ALMANAC_ZOMBIE_THRESHOLD_MS: z.coerce.number().int().positive().optional(),
  ALMANAC_SWEEP_INTERVAL_MS: z.coerce.number().int().positive().optional(),
  ALMANAC_BATCH_TIMEOUT_MS: z.coerce.number().int().positive().optional(),
  ALMANAC_BATCH_SIZE: z.coerce.number().int().positive().optional(),
  ALMANAC_MAX_IN_FLIGHT: z.coerce.number().int().positive().optional(),
  /** json (default when stdout is not a terminal) or human (default on a terminal): ADR 0023 */
  ALMANAC_LOG_FORMAT: z.enum(['json', 'human']).optional(),
  /** the lowest severity logged (default info; debug adds a line per message handled) */
  ALMANAC_LOG_LEVEL: z.enum(['debug', 'info', 'warn', 'error']).default('info'),
  /** the scheduler's tick interval (overrides scheduler.tickIntervalMs); 0: no timer, POST /tick only */
  ALMANAC_TICK_INTERVAL_MS: z.coerce.number().int().nonnegative().optional(),
});
export type ServiceEnv = z.output<typeof ServiceEnvSchema>;

export class ServiceEnvError extends Error {
  readonly code = 'invalid-environment';
}

export function parseServiceEnv(env: NodeJS.ProcessEnv, service: string): ServiceEnv {
  const parsed = ServiceEnvSchema.safeParse(env);
  if (!parsed.success) {
    const issues = parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ');
    throw new ServiceEnvError(`almanac ${service}: invalid environment: ${issues}`);
  }
  return parsed.data;
}
