import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import type { INestApplication } from '@nestjs/common';
import { createSqliteCheckpointStore } from '@almanac/eventlog';
import { EmbeddedEngine, type EngineOptions } from './embedded-engine';
import { removeServerFile, writeServerFile } from './server-file';
import { RetentionSweep, type ProjectConfig } from '@almanac/platform';
import { hostApi } from '@almanac/api';
import { AlmanacQueries } from '@almanac/api';
import { apiProjections } from '@almanac/api';
import { resolveAuth, sha256Hex } from '@almanac/api';
import { resolveBrowserSafety } from '@almanac/api';
import { resolveRateLimit } from '@almanac/api';
import { SchedulerModule, SchedulerService } from '@almanac/services/scheduler';

export interface ServeOptions {
  root: string;
  config: ProjectConfig;
  /** default 127.0.0.1; any other address needs auth configured */
  host?: string;
  /** 0: any free port */
  port?: number;
  /**
   * where ALMANAC_API_TOKENS, the OIDC settings, ALMANAC_ALLOWED_HOSTS, ALMANAC_ALLOWED_ORIGINS and
   * ALMANAC_RATE_LIMIT are read (default: process.env)
   */
  env?: NodeJS.ProcessEnv;
  /** names the api may be reached as besides loopback ones (added to ALMANAC_ALLOWED_HOSTS) */
  allowedHosts?: string[];
  /** origins whose pages may call the api, with CORS (added to ALMANAC_ALLOWED_ORIGINS) */
  allowedOrigins?: string[];
  /** the rate limiter's clock, in ms (default Date.now; tests pass their own) */
  rateLimitClock?: () => number;
  /** how often the scheduler ticks (ms); null or absent: no timer (POST /tick still works) */
  tickIntervalMs?: number | null;
  /**
   * the scheduler's clock: its tick and the retention sweep its timer runs every
   * `scheduler.retentionIntervalMs` (default: now; tests pass their own)
   */
  schedulerClock?: () => Date;
  /** the scheduler timer's log lines (default: stdout) */
  schedulerLog?: (line: string) => void;
  engine?: Omit<EngineOptions, 'root' | 'config'>;
}

export interface ServedApi {
  url: string;
  engine: EmbeddedEngine;
  queries: AlmanacQueries;
  app: INestApplication;
  close(): Promise<void>;
}

/**
 * The api's queries over an open embedded engine (the CLI's status, replay, audit, projections,
 * and `almanac serve`); close() saves views not yet saved and closes the checkpoint store.
 */
export function embeddedQueries(
  engine: EmbeddedEngine,
  minSaveIntervalMs = 0,
): { queries: AlmanacQueries; close(): Promise<void> } {
  const checkpoints = createSqliteCheckpointStore(engine.paths.checkpoints);
  const projections = apiProjections(engine.store, checkpoints, minSaveIntervalMs, {
    recentRuns: engine.config.api?.recentRuns,
  });
  const queries = new AlmanacQueries({
    profile: 'embedded',
    store: engine.store,
    publisher: engine.publisher,
    project: engine.project,
    config: engine.config,
    warehouse: engine.warehouse,
    projections,
    clock: () => new Date(),
    retention: engine.retention,
  });
  return {
    queries,
    close: async () => {
      await projections.flush().catch(() => undefined);
      await checkpoints.close();
    },
  };
}

/**
 * `almanac serve`: the embedded profile's services (planner, executor, worker over the in-process
 * bus) and the api in one process. Runs requested over HTTP run in the background; every answer
 * comes from checkpointed projections of the SQLite log. While it runs, `.almanac/server.json`
 * says where it listens (with a token made at start when auth is on), so that the CLI's commands
 * go through it; close() removes it.
 */
export async function serveEmbedded(opts: ServeOptions): Promise<ServedApi> {
  const env = opts.env ?? process.env;
  // the CLI of this machine authenticates with it; only this user can read server.json
  const localToken = randomBytes(32).toString('base64url');
  const authenticator = resolveAuth({
    settings: opts.config.api?.auth,
    env,
    localTokens: [{ name: 'cli', role: 'operator', sha256: sha256Hex(localToken) }],
  });
  const browserSafety = resolveBrowserSafety({
    env,
    allowedHosts: opts.allowedHosts,
    allowedOrigins: opts.allowedOrigins,
  });
  const rateLimit = resolveRateLimit({
    setting: opts.config.api?.rateLimit,
    env,
    authEnabled: authenticator.enabled,
  });
  const engine = await EmbeddedEngine.open({
    root: opts.root,
    config: opts.config,
    // backfills requested over HTTP (or left by a dead process) go on while it serves
    backfills: true,
    ...opts.engine,
  });
  // the api catches up on every request: save at most every 5 s (flushed on close)
  const { queries, close: closeQueries } = embeddedQueries(engine, 5_000);
  let closing: Promise<void> | null = null;
  const handle = {
    name: 'api',
    health: () => ({ profile: 'embedded', position: queries.backend.projections.position }),
    close: () =>
      (closing ??= (async () => {
        await closeQueries();
        await engine.close();
      })()),
  };
  const scheduler = new SchedulerService({
    store: engine.store,
    publisher: engine.publisher,
    project: engine.project,
    settings: engine.config.scheduler,
    clock: opts.schedulerClock ?? (() => new Date()),
  });
  let app: INestApplication;
  try {
    app = await hostApi({
      imports: [
        SchedulerModule.register(scheduler, {
          intervalMs: opts.tickIntervalMs ?? null,
          log: opts.schedulerLog,
          retention: {
            sweep: new RetentionSweep({
              log: engine.store,
              publisher: engine.publisher,
              results: engine.results,
              project: engine.project,
              producer: 'scheduler',
            }),
            intervalMs: engine.config.scheduler.retentionIntervalMs,
          },
        }),
      ],
      handle,
      queries,
      authenticator,
      browserSafety,
      rateLimit,
      rateLimitClock: opts.rateLimitClock,
      host: opts.host ?? '127.0.0.1',
      port: opts.port ?? 0,
      metrics: engine.metrics,
    });
  } catch (e) {
    await handle.close();
    throw e;
  }
  const url = (await app.getUrl()).replace('[::1]', '127.0.0.1');
  const serverFile = engine.paths.serverFile;
  writeServerFile(serverFile, {
    url,
    pid: process.pid,
    host: hostname(),
    startedAt: new Date().toISOString(),
    ...(authenticator.enabled ? { token: localToken } : {}),
  });
  return {
    url,
    engine,
    queries,
    app,
    close: async () => {
      // first, so that a CLI started from now on waits for the lock instead of calling a closing api
      removeServerFile(serverFile, process.pid);
      await app.close();
    },
  };
}
