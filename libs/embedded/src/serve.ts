import type { INestApplication } from '@nestjs/common';
import { createSqliteCheckpointStore } from '@almanac/eventlog';
import { EmbeddedEngine, type EngineOptions } from './embedded-engine';
import type { ProjectConfig } from '@almanac/platform';
import { hostApi } from '@almanac/api';
import { AlmanacQueries } from '@almanac/api';
import { apiProjections } from '@almanac/api';
import { resolveAuth } from '@almanac/api';
import { resolveBrowserSafety } from '@almanac/api';
import { resolveRateLimit } from '@almanac/api';

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
 * comes from checkpointed projections of the SQLite log.
 */
export async function serveEmbedded(opts: ServeOptions): Promise<ServedApi> {
  const env = opts.env ?? process.env;
  const authenticator = resolveAuth({ settings: opts.config.api?.auth, env });
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
  let app: INestApplication;
  try {
    app = await hostApi({
      handle,
      queries,
      authenticator,
      browserSafety,
      rateLimit,
      rateLimitClock: opts.rateLimitClock,
      host: opts.host ?? '127.0.0.1',
      port: opts.port ?? 0,
    });
  } catch (e) {
    await handle.close();
    throw e;
  }
  const url = (await app.getUrl()).replace('[::1]', '127.0.0.1');
  return { url, engine, queries, app, close: () => app.close() };
}
