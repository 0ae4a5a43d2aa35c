import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { z } from 'zod';
import { IsoDate } from '@almanac/contracts';
import { ScheduleInput } from '@almanac/kernel';
import { ApiAuthSettings } from './api-auth-settings';

const TableSettings = z
  .object({
    entityField: z.string().min(1),
    /** absent: a dimension table without dates */
    dateField: z.string().min(1).optional(),
  })
  .strict();

/** BigQuery as the source warehouse (ADR 0026) */
const BigQuerySettings = z
  .object({
    /** default: the service's GOOGLE_CLOUD_PROJECT */
    projectId: z.string().min(1).optional(),
    /** the dataset holding the source tables */
    dataset: z.string().min(1),
    location: z.string().min(1).default('US'),
    /** on-demand price per TiB scanned, for cost estimates (`almanac analyze`) */
    pricePerTiB: z.number().nonnegative().default(6.25),
    /** a run estimated to scan more than this many bytes is refused unless confirmed */
    runBudgetBytes: z.number().int().positive().optional(),
  })
  .strict();

const BreakerSettings = z
  .object({
    timeoutMs: z.number().int().positive().default(60_000),
    retries: z.number().int().nonnegative().default(2),
    errorThresholdPercentage: z.number().min(1).max(100).default(30),
    volumeThreshold: z.number().int().positive().default(20),
    rollingCountTimeoutMs: z
      .number()
      .int()
      .positive()
      .default(10 * 60_000),
  })
  .strict();

export const ProjectConfigSchema = z
  .object({
    /** bump to re-run everything (part of every composite hash) */
    epoch: z.string().min(1).default('1'),
    computationsDir: z.string().min(1).default('computations'),
    /** where the embedded profile keeps its log and results */
    dataDir: z.string().min(1).default('.almanac'),
    warehouse: z
      .object({
        /**
         * where both profiles read source tables (ADR 0026): `duckdb` (the file at `path`,
         * read-only) or `bigquery` (the dataset under `bigquery`)
         */
        kind: z.enum(['duckdb', 'bigquery']).default('duckdb'),
        /** the DuckDB file of source tables (and what `sample-data --target bigquery` loads) */
        path: z.string().min(1),
        schemaTtlMs: z
          .number()
          .int()
          .positive()
          .default(60 * 60_000),
        bigquery: BigQuerySettings.optional(),
      })
      .strict()
      .refine((w) => w.kind !== 'bigquery' || w.bigquery, {
        message: 'warehouse.kind is "bigquery" but warehouse.bigquery (dataset, ...) is not set',
        path: ['bigquery'],
      }),
    /**
     * Cloud Storage (ADR 0026): payloads larger than a Pub/Sub message travel by reference (claim
     * check), and BigQuery exports are staged here
     */
    storage: z
      .object({
        bucket: z.string().min(1),
        /** object names start with this (several projects may share a bucket) */
        prefix: z.string().default('almanac/'),
        /** a message whose data is larger than this goes by reference (Pub/Sub's limit: 10 MB) */
        claimCheckBytes: z
          .number()
          .int()
          .positive()
          .default(9 * 1024 * 1024),
      })
      .strict()
      .optional(),
    /** completed result versions exported to a date-partitioned BigQuery table (ADR 0026) */
    export: z
      .object({
        bigquery: z
          .object({
            /** dataset of the results table (in warehouse.bigquery.projectId's project) */
            dataset: z.string().min(1),
            table: z.string().min(1).default('almanac_results'),
          })
          .strict(),
      })
      .strict()
      .optional(),
    tables: z.record(z.string(), TableSettings),
    /** where per-entity computations get their entities from */
    entities: z
      .object({
        table: z.string().min(1),
        idField: z.string().min(1),
        dateField: z.string().optional(),
      })
      .strict(),
    execution: z
      .object({
        batchSize: z.number().int().positive().default(1000),
        entityConcurrency: z.number().int().positive().default(20),
        maxInFlight: z.number().int().positive().default(100),
        /** batches a worker runs at once */
        workerConcurrency: z.number().int().positive().default(4),
        leaseMs: z
          .number()
          .int()
          .positive()
          .default(60 * 60_000),
        /** a started computation with no progress for this long is taken over by another executor */
        zombieThresholdMs: z
          .number()
          .int()
          .positive()
          .default(60 * 60_000),
        /** how often each executor looks for stalled work (both profiles) */
        sweepIntervalMs: z.number().int().positive().default(60_000),
        /**
         * how long a result version nobody names any more is kept (for --as-of reads of recent
         * history) before a later completion of the same (computation, date) deletes it
         */
        resultRetentionDays: z.number().int().nonnegative().default(7),
        breaker: BreakerSettings.default(BreakerSettings.parse({})),
      })
      .strict()
      // prefault: an absent section is parsed as {}, so that it gets the defaults above
      .prefault({}),
    /**
     * the dates a run may be requested for: `min` to today (UTC) + `maxDaysAhead` days, inclusive.
     * The CLI and the api refuse any other date before appending anything; the planner rejects
     * one that reaches it over the bus (libs/domain/planner/src/run-request.rules.ts).
     */
    dates: z
      .object({
        min: IsoDate.default('1970-01-01'),
        maxDaysAhead: z.number().int().nonnegative().default(365),
      })
      .strict()
      // prefault: an absent section is parsed as {}, so that it gets the defaults above
      .prefault({}),
    /** schedules (ADR 0016): the default schedule, the dependency gap, catch-up, the tick */
    scheduler: z
      .object({
        /** every computation's schedule, under the fields its own config sets */
        schedule: ScheduleInput.default({}),
        /** a dependant's slots must come at least this long after its dependencies' */
        dependencyGapMinutes: z.number().int().nonnegative().default(15),
        /** after downtime, slots missed up to this long ago are requested (oldest first) */
        catchUpHours: z.number().int().nonnegative().default(24),
        /** how often the scheduler service and `almanac serve` tick */
        tickIntervalMs: z.number().int().positive().default(60_000),
        /**
         * the timer also runs the retention sweep (ADR 0018), at most this often, after its tick;
         * 0 or null: never (`almanac retention`, POST /retention only)
         */
        retentionIntervalMs: z.number().int().nonnegative().nullable().default(3_600_000),
      })
      .strict()
      // prefault: an absent section is parsed as {}, so that it gets the defaults above
      .prefault({}),
    /** safe subset of settings given to computations as ctx.config */
    settings: z.record(z.string(), z.unknown()).default({}),
    references: z.record(z.string(), z.unknown()).default({}),
    rules: z.record(z.string(), z.unknown()).default({}),
    /** the api (`almanac serve`, the api service): who may call it */
    api: z
      .object({
        /** bearer tokens (sha256 of each; secrets come from ALMANAC_API_TOKENS) and OIDC */
        auth: ApiAuthSettings.optional(),
        /**
         * finished runs the api keeps in memory (the most recently requested; default 200, the
         * largest page of GET /runs); older ones are read from the log when asked for
         */
        recentRuns: z.number().int().positive().optional(),
        /**
         * requests per caller, "120/min", "5/10s" or "off" (ALMANAC_RATE_LIMIT wins); default
         * 600/min with auth on, off without
         */
        rateLimit: z.string().min(1).optional(),
      })
      .strict()
      .optional(),
    /** the sample data `almanac sample-data` and `npm start` generate */
    sample: z
      .object({
        /** module exporting generateSampleData({ path, users, days, endDate, seed, onProgress }) */
        module: z.string().min(1),
        date: IsoDate,
        users: z.number().int().positive(),
        days: z.number().int().positive(),
      })
      .strict()
      .optional(),
  })
  .strict()
  .refine((c) => !c.export || c.storage, {
    message:
      'export.bigquery is set but storage is not: the export is staged in Cloud Storage (set storage.bucket)',
    path: ['export'],
  });

export type ProjectConfig = z.output<typeof ProjectConfigSchema>;
export type ProjectConfigInput = z.input<typeof ProjectConfigSchema>;

/** Typed helper for almanac.config.ts. */
export function defineConfig(config: ProjectConfigInput): ProjectConfigInput {
  return config;
}

export class ConfigError extends Error {
  readonly code = 'invalid-config';
  constructor(message: string) {
    super(message);
    this.name = 'ConfigError';
  }
}

export function parseProjectConfig(raw: unknown, where = 'almanac.config.ts'): ProjectConfig {
  const parsed = ProjectConfigSchema.safeParse(raw);
  if (!parsed.success) {
    const issues = parsed.error.issues.map((i) => {
      const path = i.path.join('.') || '(root)';
      if (i.code === 'unrecognized_keys')
        return `${path}: unknown field(s) ${i.keys.map((k) => `"${k}"`).join(', ')}`;
      return `${path}: ${i.message}`;
    });
    throw new ConfigError(`${where}: invalid configuration: ${issues.join('; ')}`);
  }
  return parsed.data;
}

export const CONFIG_FILE = 'almanac.config.ts';

/** Finds almanac.config.ts from `start` upwards; the folder holding it is the project root. */
export function findProjectRoot(start = process.cwd()): string {
  let dir = resolve(start);
  for (;;) {
    if (existsSync(join(dir, CONFIG_FILE))) return dir;
    const parent = resolve(dir, '..');
    if (parent === dir)
      throw new ConfigError(`no ${CONFIG_FILE} found in ${resolve(start)} or any parent folder`);
    dir = parent;
  }
}

export function loadProjectConfig(root: string): ProjectConfig {
  const file = join(root, CONFIG_FILE);
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const mod = require(file) as { default?: unknown };
  return parseProjectConfig(mod.default ?? mod, CONFIG_FILE);
}

export interface ProjectPaths {
  root: string;
  computationsDir: string;
  warehouse: string;
  eventLog: string;
  /** the checkpointed views of the api and the CLI (rebuilt from the log when missing) */
  checkpoints: string;
  results: string;
  /** where a running `almanac serve` says it listens, so that the CLI goes through it */
  serverFile: string;
}

export function projectPaths(root: string, config: ProjectConfig): ProjectPaths {
  const dataDir = resolve(root, config.dataDir);
  return {
    root,
    computationsDir: resolve(root, config.computationsDir),
    warehouse: resolve(root, config.warehouse.path),
    eventLog: join(dataDir, 'events.sqlite'),
    checkpoints: join(dataDir, 'projections.sqlite'),
    results: join(dataDir, 'results.duckdb'),
    serverFile: join(dataDir, 'server.json'),
  };
}
