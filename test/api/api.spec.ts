import { join } from 'node:path';
import { createSqliteCheckpointStore } from '@almanac/eventlog';
import { AlmanacQueries, apiProjections } from '@almanac/api';
import { serveEmbedded, type ServedApi } from '@almanac/embedded';
import { badRunRequests } from '../embedded/bad-run-requests';
import { apiAutoscalerQuery, unansweredSelectors } from './autoscaler-query';
import { computation, D, D_1, Fixture, STANDARD_CONFIG, STANDARD_FILES } from '../embedded/fixture';

const OPERATOR = 'operator-token-0123456789';
const VIEWER = 'viewer-token-0123456789';
const ENV = { ALMANAC_API_TOKENS: `ops:operator:${OPERATOR},dash:viewer:${VIEWER}` };

/** Fails for u2; its dependant is then blocked. */
const FLAKY = computation({
  className: 'Flaky',
  config: { name: 'Flaky', type: 'per-entity' },
  body: `    if (ctx.entityId === 'u2') throw new Error('u2 is broken');
    return { ok: true };`,
});
const AFTER_FLAKY = computation({
  className: 'AfterFlaky',
  config: { name: 'AfterFlaky', type: 'per-entity', dependencies: ['Flaky'] },
  body: `    return ctx.getDependency('Flaky');`,
});

/** What the process writes (Nest's logger among it) while `fn` runs. */
async function captureOutput(fn: () => Promise<void>): Promise<string> {
  let written = '';
  const capture = (chunk: string | Uint8Array) => {
    written += String(chunk);
    return true;
  };
  const out = jest.spyOn(process.stdout, 'write').mockImplementation(capture);
  const err = jest.spyOn(process.stderr, 'write').mockImplementation(capture);
  try {
    await fn();
  } finally {
    out.mockRestore();
    err.mockRestore();
  }
  return written;
}

/** A stack trace line as Node prints it */
const STACK_LINE = /^ {4}at /m;

interface Answer<T = Record<string, unknown>> {
  status: number;
  body: T;
  headers: Headers;
}

describe('the api (embedded profile, `almanac serve`)', () => {
  let f: Fixture;
  let api: ServedApi;
  const runIds: string[] = [];

  async function call<T = Record<string, unknown>>(
    method: string,
    path: string,
    opts: { token?: string | null; body?: unknown } = {},
  ): Promise<Answer<T>> {
    const token = opts.token === undefined ? OPERATOR : opts.token;
    const res = await fetch(`${api.url}${path}`, {
      method,
      headers: {
        ...(token ? { authorization: `Bearer ${token}` } : {}),
        ...(opts.body !== undefined ? { 'content-type': 'application/json' } : {}),
      },
      body: opts.body === undefined ? undefined : JSON.stringify(opts.body),
    });
    const text = await res.text();
    let body: unknown = text;
    try {
      body = JSON.parse(text);
    } catch {
      // not JSON (metrics, HTML)
    }
    return { status: res.status, body: body as T, headers: res.headers };
  }

  async function logSize(): Promise<number> {
    return (await api.engine.store.readAll()).length;
  }

  async function waitForRun(runId: string): Promise<Record<string, unknown>> {
    for (let i = 0; i < 600; i++) {
      const r = await call('GET', `/runs/${runId}`);
      if (r.status === 200 && ['completed', 'failed', 'rejected'].includes(String(r.body.status)))
        return r.body;
      await new Promise((res) => setTimeout(res, 100));
    }
    throw new Error(`run ${runId} did not finish`);
  }

  async function requestRun(body: Record<string, unknown>): Promise<string> {
    const r = await call<{ runId: string }>('POST', '/runs', { body });
    expect(r.status).toBe(202);
    runIds.push(r.body.runId);
    await waitForRun(r.body.runId);
    return r.body.runId;
  }

  let beforeForced = '';

  beforeAll(async () => {
    f = await Fixture.create({
      files: { ...STANDARD_FILES, 'flaky.ts': FLAKY, 'after-flaky.ts': AFTER_FLAKY },
      config: STANDARD_CONFIG,
    });
    f.loadNewCode();
    api = await serveEmbedded({ root: f.dir, config: f.config, port: 0, env: ENV });
    // a run with failures, a run that skips, a forced re-run of one computation
    await requestRun({ date: D });
    await requestRun({ date: D });
    beforeForced = new Date().toISOString();
    await new Promise((res) => setTimeout(res, 20));
    await requestRun({ date: D, targets: ['OrderTotals'], force: true });
  }, 120_000);

  afterAll(async () => {
    await api?.close();
    await f?.cleanup();
  });

  describe('auth', () => {
    it('answers 401 with WWW-Authenticate when the token is missing or unknown', async () => {
      const missing = await call('GET', '/runs', { token: null });
      expect(missing.status).toBe(401);
      expect(missing.headers.get('www-authenticate')).toMatch(/^Bearer/);
      const unknown = await call('GET', '/runs', { token: 'not-a-known-token-at-all' });
      expect(unknown.status).toBe(401);
    });

    it('lets a viewer read but not request a run (403), and appends nothing', async () => {
      expect((await call('GET', '/runs', { token: VIEWER })).status).toBe(200);
      const before = await logSize();
      const denied = await call('POST', '/runs', { token: VIEWER, body: { date: D } });
      expect(denied.status).toBe(403);
      expect(String(denied.body.message)).toContain('operator');
      expect(await logSize()).toBe(before);
    });

    it('serves /health, /status and /docs without a token', async () => {
      expect((await call('GET', '/health', { token: null })).status).toBe(200);
      const page = await call('GET', '/status', { token: null });
      expect(page.status).toBe(200);
      expect(String(page.body)).toContain('<html');
      const docs = await call<{ paths: Record<string, unknown> }>('GET', '/docs/openapi.json', {
        token: null,
      });
      expect(docs.status).toBe(200);
      expect(Object.keys(docs.body.paths)).toEqual(
        expect.arrayContaining(['/runs', '/runs/{id}', '/runs/{id}/events', '/analyze', '/']),
      );
    });

    it('refuses to listen on a non-loopback address with auth disabled', async () => {
      await expect(
        serveEmbedded({ root: f.dir, config: f.config, host: '0.0.0.0', port: 0, env: {} }),
      ).rejects.toThrow(/refuses to listen on 0\.0\.0\.0 with authentication disabled/);
    });
  });

  describe('POST /runs', () => {
    it('answers 400 with the zod issues for a bad body, and appends nothing', async () => {
      const before = await logSize();
      const bad = await call<{ issues: Array<{ path: string[] }> }>('POST', '/runs', {
        body: { date: '2026-13-45', force: 'yes', extra: 1 },
      });
      expect(bad.status).toBe(400);
      expect(bad.body.issues.length).toBeGreaterThan(0);
      const unknown = await call('POST', '/runs', { body: { date: D, targets: ['Nope'] } });
      expect(unknown.status).toBe(404);
      expect(String(unknown.body.message)).toContain('"Nope"');
      expect(await logSize()).toBe(before);
    });

    describe('a request that breaks the rules of every entry point (issue 9, item 3)', () => {
      const bad = badRunRequests([
        'AfterFlaky',
        'DailyVolume',
        'Flaky',
        'OrderTotals',
        'SignupInfo',
        'UserBand',
      ]);

      it.each(bad.map((r) => [r.what, r] as const))(
        "with %s: refused with the CLI's message, and nothing appended",
        async (_, r) => {
          const before = await logSize();
          const answer = await call('POST', '/runs', { body: r.api });
          expect(answer.body.message).toBe(r.message);
          expect(answer.status).toBe(r.status);
          expect(await logSize()).toBe(before);
        },
      );

      it("the seed's run action and POST /analyze refuse it the same way", async () => {
        const before = await logSize();
        const year0 = bad.find((r) => r.what === 'year 0')!;
        const action = await call('POST', '/', { body: { action: 'run', date: '0000-01-01' } });
        expect(action.status).toBe(400);
        expect(action.body.message).toBe(year0.message);
        const unknown = bad.find((r) => r.what === 'a misspelt computation')!;
        const analyze = await call('POST', '/analyze', { body: unknown.api });
        expect(analyze.status).toBe(404);
        expect(analyze.body.message).toBe(unknown.message);
        const feb30 = await call('POST', '/analyze', { body: { date: '2026-02-30' } });
        expect(feb30.status).toBe(400);
        expect(feb30.body.message).toBe(bad.find((r) => r.what === 'February 30')!.message);
        expect(await logSize()).toBe(before);
      });
    });

    it('ran the requested runs: failures, skips, and the forced re-run', async () => {
      const [first, second, forced] = await Promise.all(
        runIds.slice(0, 3).map((id) => call<Record<string, any>>('GET', `/runs/${id}`)),
      );
      expect(first.body.computations.Flaky.status).toBe('failed');
      expect(first.body.computations.AfterFlaky.status).toBe('blocked');
      expect(first.body.computations.OrderTotals.status).toBe('completed');
      expect(second.body.computations.OrderTotals.status).toBe('skipped');
      expect(forced.body.computations.OrderTotals.status).toBe('completed');
      expect(forced.body.computations.OrderTotals.reason.code).toBe('forced');
      expect((await call('GET', '/runs/no-such-run')).status).toBe(404);
    });
  });

  describe('GET /runs', () => {
    it('pages newest first with a cursor', async () => {
      const p1 = await call<{ runs: Array<{ runId: string }>; nextCursor: string | null }>(
        'GET',
        '/runs?limit=2',
      );
      expect(p1.status).toBe(200);
      expect(p1.body.runs.map((r) => r.runId)).toEqual([runIds[2], runIds[1]]);
      expect(p1.body.nextCursor).toEqual(expect.any(String));
      const p2 = await call<{ runs: Array<{ runId: string }>; nextCursor: string | null }>(
        'GET',
        `/runs?limit=2&cursor=${p1.body.nextCursor}`,
      );
      expect(p2.body.runs.map((r) => r.runId)).toEqual([runIds[0]]);
      expect(p2.body.nextCursor).toBeNull();
    });

    it('filters by status, date range and computation', async () => {
      const failed = await call<{ runs: Array<{ runId: string; errors: unknown[] }> }>(
        'GET',
        '/runs?status=failed',
      );
      const completed = await call<{ runs: Array<{ runId: string }> }>(
        'GET',
        '/runs?status=completed',
      );
      // every run here has the failing Flaky, or only OrderTotals
      expect([...failed.body.runs, ...completed.body.runs].map((r) => r.runId).sort()).toEqual(
        [...runIds].sort(),
      );
      expect(failed.body.runs.some((r) => r.errors.length > 0)).toBe(true);
      const inRange = await call<{ runs: unknown[] }>('GET', `/runs?from=${D}&to=${D}`);
      expect(inRange.body.runs).toHaveLength(3);
      const before = await call<{ runs: unknown[] }>('GET', `/runs?to=${D_1}`);
      expect(before.body.runs).toHaveLength(0);
      const withFlaky = await call<{ runs: Array<{ runId: string }> }>(
        'GET',
        '/runs?computation=Flaky',
      );
      expect(withFlaky.body.runs.map((r) => r.runId).sort()).toEqual(runIds.slice(0, 2).sort());
    });

    it('answers 400 for bad filters and cursors', async () => {
      expect((await call('GET', '/runs?status=sleeping')).status).toBe(400);
      expect((await call('GET', '/runs?limit=0')).status).toBe(400);
      expect((await call('GET', `/runs?from=${D}&to=${D_1}`)).status).toBe(400);
      expect((await call('GET', '/runs?cursor=garbage')).status).toBe(400);
      expect((await call('GET', '/runs?colour=red')).status).toBe(400);
    });
  });

  it("GET /runs/:id/events: the run's timeline from the log", async () => {
    const t = await call<{ events: Array<{ type: string; summary: string }> }>(
      'GET',
      `/runs/${runIds[0]}/events`,
    );
    expect(t.status).toBe(200);
    expect(t.body.events[0].type).toBe('RunRequested');
    expect(t.body.events.at(-1)!.type).toBe('RunCompleted');
    expect(t.body.events.map((e) => e.type)).toEqual(
      expect.arrayContaining(['RunPlanned', 'PassReady', 'ComputationStarted', 'BatchDone']),
    );
    expect(
      t.body.events.find((e) => e.type === 'BatchDone' && /1 failed/.test(e.summary)),
    ).toBeTruthy();
    expect((await call('GET', '/runs/nope/events')).status).toBe(404);
  });

  describe('computations', () => {
    it('GET /computations: passes, dependencies, schedule, code hash', async () => {
      const c = await call<{ passes: string[][]; computations: Array<Record<string, any>> }>(
        'GET',
        '/computations',
      );
      expect(c.status).toBe(200);
      expect(c.body.passes[0]).toEqual(expect.arrayContaining(['OrderTotals', 'Flaky']));
      const band = c.body.computations.find((x) => x.name === 'UserBand')!;
      expect(band).toMatchObject({ pass: 1, dependencies: ['OrderTotals'], type: 'per-entity' });
      expect(band.schedule).toEqual({
        frequency: 'daily',
        time: '02:00',
        timezone: 'UTC',
        enabled: true,
      });
      expect(band.codeHash).toMatch(/^[0-9a-f]{16,}$/);
      expect(band.latest).toBeUndefined();
    });

    it('GET /computations?date=: latest statuses; &asOf= shows the state at that time', async () => {
      const now = await call<{ computations: Array<Record<string, any>> }>(
        'GET',
        `/computations?date=${D}`,
      );
      const byName = Object.fromEntries(now.body.computations.map((c) => [c.name, c.latest]));
      expect(byName.OrderTotals.runId).toBe(runIds[2]);
      expect(byName.Flaky.status).toBe('failed');
      expect(byName.Flaky.failedEntities).toEqual(['u2']);
      const then = await call<{ computations: Array<Record<string, any>> }>(
        'GET',
        `/computations?date=${D}&asOf=${beforeForced}`,
      );
      const thenByName = Object.fromEntries(then.body.computations.map((c) => [c.name, c.latest]));
      expect(thenByName.OrderTotals.runId).toBe(runIds[1]);
      expect(thenByName.OrderTotals.status).toBe('skipped');
      expect((await call('GET', `/computations?date=${D}&asOf=yesterday`)).status).toBe(400);
    });

    it('GET /computations/:name/dates/:date: status, hashes, history, failed entities', async () => {
      const r = await call<Record<string, any>>('GET', `/computations/Flaky/dates/${D}`);
      expect(r.status).toBe(200);
      expect(r.body.status).toBe('failed');
      expect(r.body.failedEntities).toEqual([
        expect.objectContaining({
          entityId: 'u2',
          message: expect.stringContaining('u2 is broken'),
        }),
      ]);
      expect(r.body.history.map((h: { runId: string }) => h.runId)).toEqual(runIds.slice(0, 2));
      const ot = await call<Record<string, any>>('GET', `/computations/OrderTotals/dates/${D}`);
      expect(ot.body.history.map((h: { status: string }) => h.status)).toEqual([
        'completed',
        'skipped',
        'completed',
      ]);
      // the newest 20 per date are kept; none older here
      expect(ot.body.olderDecisions).toBe(0);
      expect(ot.body.hashParts.code).toEqual(expect.any(String));
      expect(ot.body.resultHash).toEqual(expect.any(String));
      expect((await call('GET', `/computations/Nope/dates/${D}`)).status).toBe(404);
      expect((await call('GET', `/computations/Flaky/dates/2026-02-30`)).status).toBe(400);
    });
  });

  it("GET /status.json: the latest statuses of a date, by default the latest run's", async () => {
    const r = await call<{
      date: string;
      computations: Array<{ computation: string; status: string }>;
    }>('GET', '/status.json', { token: VIEWER });
    expect(r.status).toBe(200);
    expect(r.body.date).toBe(D);
    expect(r.body.computations.find((c) => c.computation === 'AfterFlaky')!.status).toBe('blocked');
    const none = await call<{ computations: Array<{ status: string }> }>(
      'GET',
      `/status.json?date=${D_1}`,
    );
    expect(new Set(none.body.computations.map((c) => c.status))).toEqual(new Set(['never-run']));
    expect((await call('GET', '/status.json?date=tomorrow')).status).toBe(400);
  });

  it('POST /analyze: what would run or skip, appending nothing; 400 on a bad body', async () => {
    const before = await logSize();
    const r = await call<{ computations: Array<{ computation: string; prediction: string }> }>(
      'POST',
      '/analyze',
      { token: VIEWER, body: { date: D } },
    );
    expect(r.status).toBe(200);
    const byName = Object.fromEntries(
      r.body.computations.map((c) => [c.computation, c.prediction]),
    );
    expect(byName.OrderTotals).toBe('skip');
    expect(byName.Flaky).toBe('run');
    expect((await call('POST', '/analyze', { body: { targets: ['Flaky'] } })).status).toBe(400);
    expect(await logSize()).toBe(before);
  });

  it('GET /explain/:name/:date: which hash parts changed against the previous result', async () => {
    const r = await call<Record<string, any>>('GET', `/explain/OrderTotals/${D}`);
    expect(r.status).toBe(200);
    expect(r.body.decision.reason.code).toBe('forced');
    expect(r.body.previous.runId).toBe(runIds[0]);
    expect(r.body.changedParts).toEqual([]);
    expect((await call('GET', `/explain/OrderTotals/${D_1}`)).status).toBe(404);
  });

  it('GET /audit/:name/:date: the lineage of the current result', async () => {
    const r = await call<Record<string, any>>('GET', `/audit/UserBand/${D}`);
    expect(r.status).toBe(200);
    expect(r.body.runId).toBe(runIds[0]);
    expect(r.body.dependencies[0]).toMatchObject({ name: 'OrderTotals' });
  });

  describe('the seed management call POST /', () => {
    it('status and analyze answer as the seed documents, for a viewer too', async () => {
      const s = await call<{ computations: Array<Record<string, any>> }>('POST', '/', {
        token: VIEWER,
        body: { action: 'status', date: D },
      });
      expect(s.status).toBe(200);
      expect(s.body.computations.find((c) => c.name === 'Flaky')).toMatchObject({
        status: 'failed',
        upToDate: false,
      });
      const a = await call<{ computations: unknown[] }>('POST', '/', {
        token: VIEWER,
        body: { action: 'analyze', date: D },
      });
      expect(a.status).toBe(200);
      expect(a.body.computations.length).toBe(6);
    });

    it('run needs an operator, and runs one computation regardless of hashes', async () => {
      const before = await logSize();
      expect(
        (await call('POST', '/', { token: VIEWER, body: { action: 'run', date: D } })).status,
      ).toBe(403);
      expect((await call('POST', '/', { body: { action: 'fly', date: D } })).status).toBe(400);
      expect(await logSize()).toBe(before);
      const r = await call<{ runId: string }>('POST', '/', {
        body: { action: 'run', computation: 'DailyVolume', date: D, force: true },
      });
      expect(r.status).toBe(200);
      const run = await waitForRun(r.body.runId);
      expect((run.computations as Record<string, { status: string }>).DailyVolume.status).toBe(
        'completed',
      );
    });
  });

  it('with maxStalenessMs, requests within that time of a catch-up share it instead of reading the log again', async () => {
    const checkpoints = createSqliteCheckpointStore(join(f.dir, 'staleness-checkpoints.sqlite'));
    const real = apiProjections(api.engine.store, checkpoints, 0);
    let catchUps = 0;
    const counted = Object.create(real, {
      catchUp: { value: () => (catchUps++, real.catchUp()) },
    }) as typeof real;
    const e = api.engine;
    const q = new AlmanacQueries({
      profile: 'embedded',
      store: e.store,
      publisher: e.publisher,
      project: e.project,
      config: e.config,
      warehouse: e.warehouse,
      projections: counted,
      clock: () => new Date(),
      maxStalenessMs: 60_000,
    });
    try {
      await Promise.all([q.listRuns({ limit: 5 }), q.status(D), q.getRun(runIds[0])]);
      await q.listRuns({ limit: 1 });
      expect(catchUps).toBe(1);
      expect((await q.listRuns({ limit: 10 })).runs.length).toBeGreaterThanOrEqual(3);
    } finally {
      await checkpoints.close();
    }
  });

  describe('projections, health, metrics', () => {
    it('verify: the live views equal a rebuild after failures, skips and a forced re-run', async () => {
      const v = await call<{ equal: boolean; differences: unknown[]; events: number }>(
        'GET',
        '/projections/verify',
      );
      expect(v.status).toBe(200);
      expect(v.body.differences).toEqual([]);
      expect(v.body.equal).toBe(true);
      expect(v.body.events).toBe(await logSize());
    });

    it('rebuild needs an operator; after it verify is still equal', async () => {
      expect((await call('POST', '/projections/rebuild', { token: VIEWER })).status).toBe(403);
      const r = await call<{ events: number }>('POST', '/projections/rebuild');
      expect(r.status).toBe(200);
      expect(r.body.events).toBe(await logSize());
      const v = await call<{ equal: boolean }>('GET', '/projections/verify');
      expect(v.body.equal).toBe(true);
    });

    it('GET /metrics: Prometheus text with runs, decisions and requests', async () => {
      const m = await call<string>('GET', '/metrics', { token: VIEWER });
      expect(m.status).toBe(200);
      expect(m.headers.get('content-type')).toContain('text/plain');
      expect(m.body).toMatch(/^almanac_runs\{status="failed"\} \d+$/m);
      expect(m.body).toMatch(
        /^almanac_computation_decisions_total\{computation="Flaky",status="failed"\} 2$/m,
      );
      expect(m.body).toMatch(
        /^almanac_http_requests_total\{method="GET",route="\/runs",status="200"\} \d+$/m,
      );
      expect((await call('GET', '/metrics', { token: null })).status).toBe(401);
    });

    it("GET /metrics also serves the services' metrics of the process (one registry) and its process metrics", async () => {
      const m = await call<string>('GET', '/metrics', { token: VIEWER });
      const value = (series: string) => {
        const line = m.body.split('\n').find((l) => l.startsWith(`${series} `));
        return line === undefined ? undefined : Number(line.slice(series.length + 1));
      };
      // every run this process requested, as the log holds them
      const requested = (await api.engine.store.readAll()).filter((e) => e.type === 'RunRequested');
      expect(value('almanac_events_appended_total{type="RunRequested"}')).toBe(requested.length);
      expect(value('almanac_event_append_duration_seconds_count')).toBeGreaterThan(0);
      expect(value('almanac_batches_dispatched_total{computation="Flaky"}')).toBeGreaterThan(0);
      expect(value('almanac_batches_done_total{computation="Flaky"}')).toBeGreaterThan(0);
      expect(value('almanac_batch_duration_seconds_count{computation="Flaky"}')).toBeGreaterThan(0);
      // the worker's count agrees with the failures the decisions recorded (only Flaky fails)
      expect(value('almanac_entities_failed_total{computation="Flaky"}')).toBeGreaterThan(0);
      expect(value('almanac_entities_failed_total{computation="Flaky"}')).toBe(
        value('almanac_failed_entities_total'),
      );
      expect(value('almanac_entities_processed_total{computation="Flaky"}')).toBeGreaterThan(2);
      expect(value('almanac_breaker_state{computation="Flaky"}')).toBe(0);
      expect(
        value('almanac_message_age_seconds_count{subscription="planner.runs"}'),
      ).toBeGreaterThanOrEqual(requested.length);
      expect(value('almanac_messages_in_flight{subscription="worker.batches"}')).toBe(0);
      // /metrics caught the api's views up first
      expect(value('almanac_projection_lag_seconds{group="api"}')).toBe(0);
      expect(value('almanac_projection_lag_seconds{group="executor"}')).toBeGreaterThanOrEqual(0);
      expect(value('process_cpu_seconds_total')).toBeGreaterThan(0);
      // the api's own, from its views: every run is over
      expect(value('almanac_active_run_age_seconds')).toBe(0);
      expect(value('almanac_run_duration_seconds_count')).toBe(requested.length);
      expect(value('almanac_run_duration_seconds_sum')).toBeGreaterThan(0);
      expect(
        value(
          'almanac_http_request_duration_seconds_count{method="GET",route="/runs/:id",status="200"}',
        ),
      ).toBeGreaterThan(0);
    });

    it("the api's autoscaler queries a metric the api exposes, with the labels it filters on", async () => {
      const query = apiAutoscalerQuery();
      expect(query).toContain('almanac_http_requests_total');
      const m = await call<string>('GET', '/metrics', { token: VIEWER });
      expect(unansweredSelectors(query, m.body)).toEqual([]);
      // the check is real: a name the api does not expose is reported
      expect(
        unansweredSelectors('sum(rate(almanac_api_requests_total{x="1"}[2m]))', m.body),
      ).toEqual(['almanac_api_requests_total: not on /metrics']);
    });
  });

  describe('logs', () => {
    it('client errors (400, 404, 413) are logged without a stack trace; a server error keeps its stack', async () => {
      const answers: number[] = [];
      const clientErrors = await captureOutput(async () => {
        for (const body of [
          { date: D, force: 'yes' },
          { date: '0000-01-01' },
          { date: D, targets: ['Nope'] },
        ])
          answers.push((await call('POST', '/runs', { body })).status);
        answers.push((await call('GET', '/runs/no-such-run')).status);
        // the finding of issue 9: a 10 MB body
        answers.push(
          (await call('POST', '/runs', { body: { date: D, padding: 'x'.repeat(10_000_000) } }))
            .status,
        );
      });
      expect(answers).toEqual([400, 400, 404, 404, 413]);
      expect(clientErrors).toContain('413 POST /runs: request entity too large');
      expect(clientErrors).not.toContain('ERROR');
      expect(clientErrors).not.toMatch(STACK_LINE);

      const getRun = jest
        .spyOn(AlmanacQueries.prototype, 'getRun')
        .mockRejectedValueOnce(new Error('the checkpoint store is gone'));
      let status = 0;
      const serverError = await captureOutput(async () => {
        status = (await call('GET', '/runs/any')).status;
      });
      getRun.mockRestore();
      expect(status).toBe(500);
      expect(serverError).toContain('ERROR');
      expect(serverError).toContain('the checkpoint store is gone');
      expect(serverError).toMatch(STACK_LINE);
    });
  });

  // last: these runs change what the tests above read
  it('POST /runs and /analyze: force re-runs the targets only, forceUpstream their dependencies too', async () => {
    const predict = async (body: Record<string, unknown>) => {
      const r = await call<{ computations: Array<{ computation: string; prediction: string }> }>(
        'POST',
        '/analyze',
        { body: { date: D, targets: ['UserBand'], ...body } },
      );
      return Object.fromEntries(r.body.computations.map((c) => [c.computation, c.prediction]));
    };
    expect(await predict({ force: true })).toEqual({ OrderTotals: 'skip', UserBand: 'run' });
    expect(await predict({ forceUpstream: true })).toEqual({ OrderTotals: 'run', UserBand: 'run' });
    const run = async (body: Record<string, unknown>) =>
      (await call<Record<string, any>>('GET', `/runs/${await requestRun(body)}`)).body;
    const targetOnly = await run({ date: D, targets: ['UserBand'], force: true });
    expect(targetOnly.computations.OrderTotals.status).toBe('skipped');
    expect(targetOnly.computations.UserBand.reason.code).toBe('forced');
    const upstream = await run({ date: D, targets: ['UserBand'], forceUpstream: true });
    expect(upstream).toMatchObject({ force: false, forceUpstream: true });
    expect(upstream.computations.OrderTotals.reason.code).toBe('forced');
    expect(upstream.computations.UserBand.reason.code).toBe('forced');
  });
});
