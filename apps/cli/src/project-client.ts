import type { BackfillView, RunView } from '@almanac/domain/projections';
import {
  ApiRequestError,
  requestInvalidation,
  runRetention,
  type AlmanacQueries,
  type InvalidationAnswer,
  type AnalyzeRow,
  type AuditNode,
  type ComputationsResponse,
  type DagGraph,
  type ExplainReport,
  type ImpactPreview,
  type ForceOptions,
  type RunTimeline,
} from '@almanac/api';
import { embeddedQueries, type EmbeddedEngine, type ServerRecord } from '@almanac/embedded';
import type {
  BackfillRequest,
  InvalidationRequest,
  RetentionReport,
  RunRequest,
} from '@almanac/platform';
import { UnknownScheduleError } from '@almanac/domain/scheduler';
import { SchedulerService, type ScheduleRow, type TickResult } from '@almanac/services/scheduler';
import type { Progress } from './render';

type StatusAnswer = Awaited<ReturnType<AlmanacQueries['status']>>;
type ProjectionsSource = AlmanacQueries['backend']['projections'];
type RebuildReport = Awaited<ReturnType<ProjectionsSource['rebuild']>>;
type VerifyReport = Awaited<ReturnType<ProjectionsSource['verify']>>;

/**
 * What the CLI's commands ask of a project: answered by this process over the project's files, or
 * by the `almanac serve` that holds them. The answers are the same JSON either way, so the same
 * formatters print them.
 */
export interface ProjectClient {
  /** the server it goes through; null: this process opened the project */
  readonly server: ServerRecord | null;
  /** requests a run and waits for its end */
  run(request: RunRequest): Promise<RunView>;
  /** requests a backfill and, with `wait`, follows it to its end (its progress to onProgress) */
  backfill(request: BackfillRequest, opts: BackfillFollow): Promise<BackfillView>;
  status(date?: string, asOf?: string): Promise<StatusAnswer>;
  analyze(date: string, targets: string[], force: ForceOptions): Promise<AnalyzeRow[]>;
  /** what runs of every date of [from, to] would do (POST /analyze with a range) */
  previewRange(
    from: string,
    to: string,
    targets: string[],
    force: ForceOptions,
  ): Promise<ImpactPreview>;
  /** the DAG, marked with a preview of [from, to] when given (GET /graph) */
  graph(range?: { from: string; to: string }): Promise<DagGraph>;
  /** null: the computation never ran for the date */
  explain(name: string, date: string): Promise<ExplainReport | null>;
  runEvents(runId: string): Promise<RunTimeline>;
  audit(name: string, date: string, asOf?: string): Promise<AuditNode>;
  rebuildProjections(): Promise<RebuildReport>;
  verifyProjections(): Promise<VerifyReport>;
  /** records an invalidation (ADR 0018) */
  invalidate(request: InvalidationRequest): Promise<InvalidationAnswer>;
  /** a retention sweep, as of `asOf` (default now) */
  retention(opts: { dryRun: boolean; asOf?: string }): Promise<RetentionReport>;
  /** each computation's schedule, pause, waiting slots and next `count` slots after `at` */
  schedules(at?: string, count?: number): Promise<ScheduleRow[]>;
  /** the scheduler's tick at `at` (default now); locally it also waits for the runs it requested */
  tick(at?: string): Promise<TickResult>;
  /** false: it already was paused (resumed) */
  pauseSchedule(computation: string, reason?: string): Promise<boolean>;
  resumeSchedule(computation: string): Promise<boolean>;
  close(): Promise<void>;
}

export interface BackfillFollow {
  wait: boolean;
  onProgress?: (view: BackfillView) => void;
}

const neverRun = (e: unknown) =>
  e instanceof ApiRequestError &&
  e.status === 404 &&
  (e.details as { code?: string } | undefined)?.code === 'never-run';

/** The project opened by this process: the embedded engine and the api's queries over its log. */
export class LocalClient implements ProjectClient {
  readonly server = null;
  private opened: ReturnType<typeof embeddedQueries> | null = null;

  constructor(private readonly engine: EmbeddedEngine) {}

  private get q(): AlmanacQueries {
    return (this.opened ??= embeddedQueries(this.engine)).queries;
  }

  run(request: RunRequest): Promise<RunView> {
    return this.engine.run(request);
  }
  backfill(request: BackfillRequest, opts: BackfillFollow): Promise<BackfillView> {
    return this.engine.backfill(request, opts);
  }
  status(date?: string, asOf?: string) {
    return this.q.status(date, asOf);
  }
  analyze(date: string, targets: string[], force: ForceOptions) {
    return this.q.analyze(date, targets, force);
  }
  previewRange(from: string, to: string, targets: string[], force: ForceOptions) {
    return this.q.previewRange(from, to, targets, force);
  }
  graph(range?: { from: string; to: string }) {
    return this.q.graph(range);
  }
  explain(name: string, date: string) {
    return this.q.explain(name, date).catch((e: unknown) => {
      if (neverRun(e)) return null;
      throw e;
    });
  }
  runEvents(runId: string) {
    return this.q.runEvents(runId);
  }
  audit(name: string, date: string, asOf?: string) {
    return this.q.audit(name, date, asOf);
  }
  rebuildProjections() {
    return this.q.backend.projections.rebuild();
  }
  verifyProjections() {
    return this.q.backend.projections.verify();
  }
  invalidate(request: InvalidationRequest) {
    return requestInvalidation(this.q.backend, request);
  }
  retention(opts: { dryRun: boolean; asOf?: string }) {
    const now = opts.asOf ? new Date(opts.asOf) : new Date();
    return runRetention(this.engine.retention, { now, dryRun: opts.dryRun });
  }
  private get scheduler(): SchedulerService {
    return new SchedulerService({
      store: this.engine.store,
      publisher: this.engine.publisher,
      project: this.engine.project,
      settings: this.engine.config.scheduler,
      clock: () => new Date(),
    });
  }
  schedules(at?: string, count?: number) {
    return this.scheduler.list(at ? new Date(at) : undefined, count);
  }
  async tick(at?: string) {
    const result = await this.scheduler.tick(at ? new Date(at) : undefined);
    // the runs it requested run in this process: let them finish before it exits
    await this.engine.bus.idle();
    return result;
  }
  pauseSchedule(computation: string, reason?: string) {
    return notFound(this.scheduler.pause(computation, 'cli', reason));
  }
  resumeSchedule(computation: string) {
    return notFound(this.scheduler.resume(computation, 'cli'));
  }
  async close(): Promise<void> {
    await this.opened?.close();
    await this.engine.close();
  }
}

/** An unknown computation is the api's 404, locally as through a server. */
function notFound<T>(p: Promise<T>): Promise<T> {
  return p.catch((e: unknown) => {
    if (e instanceof UnknownScheduleError) throw new ApiRequestError(404, e.message);
    throw e;
  });
}

/** `almanac serve (pid 123, http://127.0.0.1:8080)`: how messages name a server. */
export const describeServer = (s: ServerRecord) => `almanac serve (pid ${s.pid}, ${s.url})`;

/** A server that did not answer, or refused the CLI (auth, Host), or failed. */
class ServerRequestError extends Error {
  readonly code = 'server-request-failed';
  constructor(message: string, options?: { cause: unknown }) {
    super(message, options);
    this.name = 'ServerRequestError';
  }
}

const FINAL_RUN: ReadonlySet<string> = new Set(['completed', 'failed', 'rejected', 'abandoned']);
const POLL_MS = 250;

/**
 * The project through the api of the `almanac serve` that holds it. Requests are JSON, to the
 * loopback address it recorded, without an Origin: the api's browser-safety checks let them by.
 */
export class ServerClient implements ProjectClient {
  constructor(
    readonly server: ServerRecord,
    /** where the server recorded itself (named when it does not answer) */
    private readonly serverFile: string,
    private readonly opts: {
      /** ALMANAC_API_TOKEN, else the server's own (server.json), when auth is on */
      token?: string;
      progress?: Progress;
      /** the code hashes of the computations on disk, checked against the server's before a run */
      localCodeHashes?: () => Promise<Map<string, string>>;
    } = {},
  ) {}

  async run(request: RunRequest): Promise<RunView> {
    await this.checkCode();
    const { runId } = await this.call<{ runId: string }>('POST', '/runs', {
      date: request.date,
      targets: request.targets ?? [],
      ...(request.entityIds?.length ? { entityIds: request.entityIds } : {}),
      force: Boolean(request.force),
      forceUpstream: Boolean(request.forceUpstream),
      dryRun: Boolean(request.dryRun),
    });
    for (;;) {
      const run = await this.call<RunView & { elapsedMs?: number }>('GET', `/runs/${enc(runId)}`);
      this.opts.progress?.onView(run);
      if (FINAL_RUN.has(run.status)) {
        // what a local run prints: the run's view, without the api's clock-dependent field
        delete run.elapsedMs;
        return run;
      }
      await new Promise((r) => setTimeout(r, POLL_MS));
    }
  }

  async backfill(request: BackfillRequest, opts: BackfillFollow): Promise<BackfillView> {
    await this.checkCode();
    const { backfillId } = await this.call<{ backfillId: string }>('POST', '/backfills', {
      from: request.from,
      to: request.to,
      targets: request.targets ?? [],
      ...(request.concurrency !== undefined ? { concurrency: request.concurrency } : {}),
      force: Boolean(request.force),
    });
    for (;;) {
      const view = await this.call<BackfillView>('GET', `/backfills/${enc(backfillId)}`);
      opts.onProgress?.(view);
      if (!opts.wait || view.status !== 'running') return view;
      await new Promise((r) => setTimeout(r, POLL_MS));
    }
  }

  /** A run on the server runs the code it loaded at start: refuse when the disk has other code. */
  private async checkCode(): Promise<void> {
    if (!this.opts.localCodeHashes) return;
    const [mine, theirs] = await Promise.all([
      this.opts.localCodeHashes(),
      this.call<ComputationsResponse>('GET', '/computations'),
    ]);
    const served = new Map(theirs.computations.map((c) => [c.name, c.codeHash]));
    const changed = [...new Set([...mine.keys(), ...served.keys()])]
      .filter((name) => mine.get(name) !== served.get(name))
      .sort();
    if (changed.length)
      throw new ServerRequestError(
        `${changed.join(', ')} changed since ${describeServer(this.server)} loaded the computations: restart it to run the code on disk`,
      );
  }

  status(date?: string, asOf?: string) {
    return this.call<StatusAnswer>('GET', `/status.json${query({ date, asOf })}`);
  }
  async analyze(date: string, targets: string[], force: ForceOptions) {
    const body = { date, targets, force: force.force, forceUpstream: force.forceUpstream };
    return (await this.call<{ computations: AnalyzeRow[] }>('POST', '/analyze', body)).computations;
  }
  previewRange(from: string, to: string, targets: string[], force: ForceOptions) {
    const body = { from, to, targets, force: force.force, forceUpstream: force.forceUpstream };
    return this.call<ImpactPreview>('POST', '/analyze', body);
  }
  graph(range?: { from: string; to: string }) {
    return this.call<DagGraph>('GET', `/graph${query({ format: 'json', ...range })}`);
  }
  explain(name: string, date: string) {
    return this.call<ExplainReport>('GET', `/explain/${enc(name)}/${enc(date)}`).catch(
      (e: unknown) => {
        if (neverRun(e)) return null;
        throw e;
      },
    );
  }
  runEvents(runId: string) {
    return this.call<RunTimeline>('GET', `/runs/${enc(runId)}/events`);
  }
  audit(name: string, date: string, asOf?: string) {
    return this.call<AuditNode>('GET', `/audit/${enc(name)}/${enc(date)}${query({ asOf })}`);
  }
  rebuildProjections() {
    return this.call<RebuildReport>('POST', '/projections/rebuild');
  }
  verifyProjections() {
    return this.call<VerifyReport>('GET', '/projections/verify');
  }
  invalidate(request: InvalidationRequest) {
    const { computations, from, to, reason } = request;
    return this.call<InvalidationAnswer>('POST', '/invalidations', {
      computations,
      from,
      to,
      reason,
    });
  }
  retention(opts: { dryRun: boolean; asOf?: string }) {
    return this.call<RetentionReport>('POST', '/retention', opts);
  }
  schedules(at?: string, count?: number) {
    const n = count === undefined ? undefined : String(count);
    return this.call<ScheduleRow[]>('GET', `/schedules${query({ at, count: n })}`);
  }
  tick(at?: string) {
    return this.call<TickResult>('POST', '/tick', at ? { at } : {});
  }
  async pauseSchedule(computation: string, reason?: string) {
    const body = reason ? { reason } : {};
    return (
      await this.call<{ changed: boolean }>('POST', `/schedules/${enc(computation)}/pause`, body)
    ).changed;
  }
  async resumeSchedule(computation: string) {
    return (
      await this.call<{ changed: boolean }>('POST', `/schedules/${enc(computation)}/resume`, {})
    ).changed;
  }
  async close(): Promise<void> {}

  /** 400/404/409 become ApiRequestError, as the local queries throw them; the rest ServerRequestError. */
  private async call<T>(method: 'GET' | 'POST', path: string, body?: unknown): Promise<T> {
    const headers: Record<string, string> = { accept: 'application/json' };
    if (body !== undefined) headers['content-type'] = 'application/json';
    if (this.opts.token) headers.authorization = `Bearer ${this.opts.token}`;
    let res: Response;
    try {
      res = await fetch(new URL(path, this.server.url), {
        method,
        headers,
        body: body === undefined ? undefined : JSON.stringify(body),
      });
    } catch (e) {
      const why = (e as { cause?: { code?: string } }).cause?.code ?? (e as Error).message;
      throw new ServerRequestError(
        `${describeServer(this.server)} did not answer (${why}); if it is gone, remove ${this.serverFile} and try again`,
        { cause: e },
      );
    }
    const text = await res.text();
    let json: { message?: unknown; issues?: unknown; details?: unknown } | undefined;
    try {
      json = JSON.parse(text) as typeof json;
    } catch {
      json = undefined;
    }
    if (res.ok) return json as T;
    const message =
      typeof json?.message === 'string' ? json.message : text.slice(0, 200) || res.statusText;
    if (res.status === 400 || res.status === 404 || res.status === 409 || res.status === 422)
      throw new ApiRequestError(
        res.status,
        message,
        Array.isArray(json?.issues) ? json.issues : undefined,
        json?.details,
      );
    const hint =
      res.status === 401 || res.status === 403
        ? ' (the CLI sends ALMANAC_API_TOKEN when set, else the token the server wrote in server.json)'
        : '';
    throw new ServerRequestError(
      `${describeServer(this.server)} refused the request: ${res.status} ${message}${hint}`,
    );
  }
}

const enc = encodeURIComponent;

function query(params: Record<string, string | undefined>): string {
  const set = Object.entries(params).filter((e): e is [string, string] => e[1] !== undefined);
  return set.length ? `?${new URLSearchParams(set).toString()}` : '';
}
