import { mkdirSync, readFileSync } from 'node:fs';
import { basename, dirname, relative } from 'node:path';
import { CodeHashCache, type LogSink } from '@almanac/kernel';
import { EmbeddedEngine, findLiveServer, type ServerRecord } from '@almanac/embedded';
import { loadProject, projectPaths, type Logger, type ProjectConfig } from '@almanac/platform';
import { createDuckDbResultStore, DatabaseLockedError } from '@almanac/warehouse';
import { describeServer, LocalClient, ServerClient, type ProjectClient } from './project-client';
import type { Progress } from './render';

/**
 * How the CLI reaches a project (ADR 0015). DuckDB lets one process write a file: while `almanac
 * serve` holds the project, commands go through its api; without a server, a command that finds
 * the files locked by another process waits for them, saying so, up to --wait-lock.
 */

export const DEFAULT_WAIT_LOCK_MS = 10_000;
const LOCK_POLL_MS = 250;

interface Access {
  root: string;
  config: ProjectConfig;
  /** how long to wait for another process's lock */
  waitLockMs: number;
  /** a line on stderr */
  say(line: string): void;
}

/** The project stayed locked by another process for all of --wait-lock. */
class ProjectLockedError extends Error {
  readonly code = 'project-locked';
  constructor(lock: DatabaseLockedError, waitedMs: number, root: string) {
    const command = commandLine(lock.pid);
    super(
      `the project is still locked by ${lock.pid !== null ? `pid ${lock.pid}` : 'another process'} ` +
        `after ${formatWait(waitedMs)}: ${command ? `\`${command}\`` : 'it'} has ` +
        `${relative(root, lock.path) || lock.path} open, and DuckDB lets one process at a time ` +
        'write it. Wait for that command to end and try again, pass a longer --wait-lock, or run ' +
        '`almanac serve` so that commands go through one process',
      { cause: lock },
    );
    this.name = 'ProjectLockedError';
  }
}

/** A command that needs the project to itself, while a server holds it. */
export class ServerHoldsProjectError extends Error {
  readonly code = 'server-holds-project';
  constructor(server: ServerRecord, why: string) {
    super(
      `${describeServer(server)} holds this project: ${why}. Stop it (Ctrl-C where it runs, or ` +
        `kill ${server.pid}) and try again`,
    );
    this.name = 'ServerHoldsProjectError';
  }
}

/**
 * The project as commands use it: through the live server that holds it, else opened here (once
 * no other process holds its files, up to --wait-lock).
 */
export function openProject(
  access: Access & {
    progress?: Progress;
    log?: LogSink;
    /** the services' decisions as structured lines (`--log-format json`) */
    logger?: Logger;
    /** before a run through a server, check that it loaded the code on disk */
    checkCode?: boolean;
    /** opened here: host the backfill module (`almanac backfill`) */
    backfills?: boolean;
  },
): Promise<ProjectClient> {
  const { root, config } = access;
  const file = projectPaths(root, config).serverFile;
  return untilUnlocked(access, async (server) => {
    if (server)
      return new ServerClient(server, file, {
        token: process.env.ALMANAC_API_TOKEN || server.token,
        progress: access.progress,
        localCodeHashes: access.checkCode ? () => codeHashes(root, config) : undefined,
      });
    const engine = await EmbeddedEngine.open({
      root,
      config,
      onEvent: access.progress?.onEvent,
      log: access.log,
      logger: access.logger,
      backfills: access.backfills,
    });
    return new LocalClient(engine);
  });
}

/**
 * Runs `fn` with the project to this process (its results file open, so no run starts meanwhile);
 * refuses while a server holds it, saying `why` the command needs it alone.
 */
export async function holdProject<T>(
  access: Access,
  why: string,
  fn: () => Promise<T>,
): Promise<T> {
  const results = projectPaths(access.root, access.config).results;
  const lock = await untilUnlocked(access, async (server) => {
    if (server) throw new ServerHoldsProjectError(server, why);
    mkdirSync(dirname(results), { recursive: true });
    return createDuckDbResultStore({ path: results });
  });
  try {
    return await fn();
  } finally {
    await lock.close();
  }
}

/**
 * Calls `attempt` with the live server of the project (or null) until it stops failing with
 * DatabaseLockedError, up to `waitLockMs`; each try looks for a server again, since one may have
 * started meanwhile.
 */
export async function untilUnlocked<T>(
  access: Access,
  attempt: (server: ServerRecord | null) => Promise<T>,
): Promise<T> {
  const file = projectPaths(access.root, access.config).serverFile;
  const deadline = Date.now() + access.waitLockMs;
  let told = false;
  for (;;) {
    try {
      return await attempt(findLiveServer(file));
    } catch (e) {
      if (!(e instanceof DatabaseLockedError)) throw e;
      const left = deadline - Date.now();
      if (left <= 0) throw new ProjectLockedError(e, access.waitLockMs, access.root);
      if (!told)
        access.say(
          `waiting for the project lock held by ${holder(e)}, up to ${formatWait(access.waitLockMs)} (--wait-lock sets how long) ...`,
        );
      told = true;
      await new Promise((r) => setTimeout(r, Math.min(LOCK_POLL_MS, left)));
    }
  }
}

/** `--wait-lock` as `30s`, `500ms`, `2m` or a number of seconds. */
export function parseWait(value: string): number | null {
  const m = /^(\d+(?:\.\d+)?)(ms|s|m)?$/.exec(value.trim());
  if (!m) return null;
  const n = Number(m[1]);
  return Math.round(m[2] === 'ms' ? n : m[2] === 'm' ? n * 60_000 : n * 1000);
}

function formatWait(ms: number): string {
  if (ms % 60_000 === 0 && ms > 0) return `${ms / 60_000}m`;
  return ms % 1000 === 0 ? `${ms / 1000}s` : `${ms}ms`;
}

async function codeHashes(root: string, config: ProjectConfig): Promise<Map<string, string>> {
  const { computationsDir } = projectPaths(root, config);
  const project = await loadProject(root, computationsDir, config, new CodeHashCache());
  return new Map([...project.planned.values()].map((c) => [c.name, c.codeHash]));
}

/** `pid 123 (almanac run --date 2026-01-15)` */
function holder(lock: DatabaseLockedError): string {
  if (lock.pid === null) return 'another process';
  const command = commandLine(lock.pid);
  return `pid ${lock.pid}${command ? ` (${command})` : ''}`;
}

/** `almanac run --date 2026-01-15`: a process's command line, where /proc tells it, else ''. */
function commandLine(pid: number | null): string {
  if (pid === null) return '';
  let command = '';
  try {
    const [exe, ...args] = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').filter(Boolean);
    command =
      args.length && basename(args[0]) === 'almanac'
        ? ['almanac', ...args.slice(1)].join(' ')
        : [basename(exe ?? ''), ...args].join(' ');
  } catch {
    // not Linux, or the process is gone
  }
  return command.length > 120 ? `${command.slice(0, 117)}...` : command;
}
