import type { Envelope } from '@almanac/contracts';
import { embeddedQueries, serveEmbedded, type ServedApi } from '@almanac/embedded';
import { computation, D, D_1, Fixture, STANDARD_CONFIG, STANDARD_FILES } from '../embedded/fixture';

// Issue 9, item 4: the api's memory does not grow with every run, callers get a fair share, and a
// retried POST /runs starts one run.

const OPS = 'operator-token-0123456789';
const OPS2 = 'second-operator-0123456789';
const ENV = { ALMANAC_API_TOKENS: `ops:operator:${OPS},ops2:operator:${OPS2}` };

/** Fails for u2: its runs fail. */
const FLAKY = computation({
  className: 'Flaky',
  config: { name: 'Flaky', type: 'per-entity' },
  body: `    if (ctx.entityId === 'u2') throw new Error('u2 is broken');
    return { ok: true };`,
});

interface Answer<T = Record<string, unknown>> {
  status: number;
  body: T;
  headers: Headers;
}

function client(api: () => ServedApi) {
  return async function call<T = Record<string, unknown>>(
    method: string,
    path: string,
    opts: { token?: string | null; body?: unknown; headers?: Record<string, string> } = {},
  ): Promise<Answer<T>> {
    const token = opts.token === undefined ? OPS : opts.token;
    const res = await fetch(`${api().url}${path}`, {
      method,
      headers: {
        ...(token ? { authorization: `Bearer ${token}` } : {}),
        ...(opts.body !== undefined ? { 'content-type': 'application/json' } : {}),
        ...opts.headers,
      },
      body: opts.body === undefined ? undefined : JSON.stringify(opts.body),
    });
    const text = await res.text();
    let body: unknown = text;
    try {
      body = JSON.parse(text);
    } catch {
      // not JSON (metrics)
    }
    return { status: res.status, body: body as T, headers: res.headers };
  };
}

async function finished(call: ReturnType<typeof client>, runId: string) {
  for (let i = 0; i < 600; i++) {
    const r = await call('GET', `/runs/${runId}`);
    if (r.status === 200 && ['completed', 'failed', 'rejected'].includes(String(r.body.status)))
      return r.body;
    await new Promise((res) => setTimeout(res, 50));
  }
  throw new Error(`run ${runId} did not finish`);
}

describe('bounded views: the api keeps api.recentRuns finished runs and reads older ones from the log', () => {
  let f: Fixture;
  let api: ServedApi;
  const call = client(() => api);
  const runIds: string[] = [];
  /** each run's GET /runs/:id, taken when it finished (while the views still held it) */
  const whenFinished = new Map<string, Record<string, unknown>>();
  const TARGETS = [['DailyVolume'], ['Flaky'], ['DailyVolume'], ['Flaky'], ['DailyVolume']];

  beforeAll(async () => {
    f = await Fixture.create({
      files: { ...STANDARD_FILES, 'flaky.ts': FLAKY },
      config: { ...STANDARD_CONFIG, api: { recentRuns: 2 } },
    });
    f.loadNewCode();
    api = await serveEmbedded({ root: f.dir, config: f.config, port: 0, env: ENV });
    for (const targets of TARGETS) {
      const r = await call<{ runId: string }>('POST', '/runs', { body: { date: D, targets } });
      expect(r.status).toBe(202);
      runIds.push(r.body.runId);
      whenFinished.set(r.body.runId, await finished(call, r.body.runId));
    }
  }, 120_000);

  afterAll(async () => {
    await api?.close();
    await f?.cleanup();
  });

  const liveRuns = () => api.queries.backend.projections.views.runs;

  it('after 5 runs with a bound of 2, the views hold 2 runs and count the 3 dropped', async () => {
    expect((await call('GET', '/runs?limit=1')).status).toBe(200);
    expect(Object.keys(liveRuns().runs).sort()).toEqual([runIds[3], runIds[4]].sort());
    expect(liveRuns().dropped).toEqual({ completed: 2, failed: 1 });
    const m = await call<string>('GET', '/metrics');
    expect(m.body).toMatch(/^almanac_runs\{status="completed"\} 3$/m);
    expect(m.body).toMatch(/^almanac_runs\{status="failed"\} 2$/m);
  });

  it('GET /runs/:id of a dropped run answers the view it answered before, from its own streams', async () => {
    for (const id of runIds) {
      const r = await call('GET', `/runs/${id}`);
      expect([id, r.status, r.body]).toEqual([id, 200, whenFinished.get(id)]);
    }
    const events = await call<{ events: Array<{ type: string }> }>(
      'GET',
      `/runs/${runIds[0]}/events`,
    );
    expect(events.body.events.at(-1)!.type).toBe('RunCompleted');
    expect((await call('GET', '/runs/no-such-run')).status).toBe(404);
  });

  it('GET /runs pages through all 5, newest first, past the live views', async () => {
    const seen: string[] = [];
    let cursor: string | null = null;
    let pages = 0;
    do {
      const p: Answer<{ runs: Array<{ runId: string }>; nextCursor: string | null }> = await call(
        'GET',
        `/runs?limit=2${cursor ? `&cursor=${cursor}` : ''}`,
      );
      expect(p.status).toBe(200);
      seen.push(...p.body.runs.map((r) => r.runId));
      cursor = p.body.nextCursor;
      pages++;
    } while (cursor && pages < 10);
    expect(seen).toEqual([...runIds].reverse());
    expect(pages).toBe(3);
    const all = await call<{ runs: Array<{ runId: string; counts: Record<string, number> }> }>(
      'GET',
      '/runs?limit=200',
    );
    expect(all.body.runs.map((r) => r.runId)).toEqual([...runIds].reverse());
    expect(all.body.runs[4].counts).toEqual({ completed: 1 });
  });

  it('filters reach dropped runs too: status, computation, dates', async () => {
    const ids = async (query: string) =>
      (await call<{ runs: Array<{ runId: string }> }>('GET', `/runs?${query}`)).body.runs.map(
        (r) => r.runId,
      );
    expect(await ids('status=failed')).toEqual([runIds[3], runIds[1]]);
    expect(await ids('status=completed')).toEqual([runIds[4], runIds[2], runIds[0]]);
    expect(await ids('computation=Flaky')).toEqual([runIds[3], runIds[1]]);
    expect(await ids(`to=${D_1}`)).toEqual([]);
    const first = await call<{ runs: Array<{ runId: string }>; nextCursor: string }>(
      'GET',
      '/runs?status=failed&limit=1',
    );
    const second = await call<{ runs: Array<{ runId: string }>; nextCursor: string | null }>(
      'GET',
      `/runs?status=failed&limit=1&cursor=${first.body.nextCursor}`,
    );
    expect([...first.body.runs, ...second.body.runs].map((r) => r.runId)).toEqual([
      runIds[3],
      runIds[1],
    ]);
    expect(second.body.nextCursor).toBeNull();
  });

  it('verify equals a rebuild; after a restart the checkpoint holds the same 2 runs', async () => {
    const v = await call<{ equal: boolean; differences: unknown[] }>('GET', '/projections/verify');
    expect(v.body.differences).toEqual([]);
    await api.close();
    api = await serveEmbedded({ root: f.dir, config: f.config, port: 0, env: ENV });
    expect((await call('GET', '/runs?limit=1')).status).toBe(200);
    expect(Object.keys(liveRuns().runs).sort()).toEqual([runIds[3], runIds[4]].sort());
    expect((await call('GET', `/runs/${runIds[0]}`)).body).toEqual(whenFinished.get(runIds[0]));
  });
});

describe('rate limit per caller: ALMANAC_RATE_LIMIT', () => {
  let f: Fixture;
  let api: ServedApi;
  let now = 0;
  const call = client(() => api);

  beforeAll(async () => {
    f = await Fixture.create();
    f.loadNewCode();
  });
  afterAll(async () => {
    await api?.close();
    await f?.cleanup();
  });

  it('over 3/min a token gets 429 with Retry-After and a JSON error; another token does not; after the window it passes', async () => {
    api = await serveEmbedded({
      root: f.dir,
      config: f.config,
      port: 0,
      env: { ...ENV, ALMANAC_RATE_LIMIT: '3/min' },
      rateLimitClock: () => now,
    });
    for (let i = 0; i < 3; i++) expect((await call('GET', '/runs')).status).toBe(200);
    const refused = await call<Record<string, unknown>>('GET', '/runs');
    expect(refused.status).toBe(429);
    expect(refused.headers.get('retry-after')).toBe('20');
    expect(refused.headers.get('content-type')).toContain('application/json');
    expect(refused.body).toEqual({
      statusCode: 429,
      message: 'rate limit of 3/min exceeded for ops: retry in 20 s',
      limit: '3/min',
      retryAfterSeconds: 20,
    });
    expect((await call('GET', '/runs', { token: OPS2 })).status).toBe(200);
    now += 60_000;
    expect((await call('GET', '/runs')).status).toBe(200);
    await api.close();
  });

  it('anonymous on loopback (no tokens), each remote address has its own bucket', async () => {
    now = 0;
    api = await serveEmbedded({
      root: f.dir,
      config: f.config,
      port: 0,
      env: { ALMANAC_RATE_LIMIT: '2/min' },
      rateLimitClock: () => now,
    });
    expect((await call('GET', '/health', { token: null })).status).toBe(200);
    expect((await call('GET', '/runs', { token: null })).status).toBe(200);
    const refused = await call('GET', '/runs', { token: null });
    expect(refused.status).toBe(429);
    expect(refused.headers.get('retry-after')).toBe('30');
    expect(String(refused.body.message)).toMatch(
      /exceeded for 127\.0\.0\.1|exceeded for ::ffff:127\.0\.0\.1/,
    );
  });
});

describe('Idempotency-Key on POST /runs', () => {
  let f: Fixture;
  let api: ServedApi;
  const call = client(() => api);

  beforeAll(async () => {
    f = await Fixture.create();
    f.loadNewCode();
    api = await serveEmbedded({ root: f.dir, config: f.config, port: 0, env: ENV });
  });
  afterAll(async () => {
    await api?.close();
    await f?.cleanup();
  });

  const requested = async (runId?: string) =>
    ((await api.engine.store.readAll()) as Envelope[]).filter(
      (e) => e.type === 'RunRequested' && (runId === undefined || e.payload.runId === runId),
    ).length;
  const post = (key: string, body: unknown, token = OPS) =>
    call<{ runId: string }>('POST', '/runs', { token, body, headers: { 'idempotency-key': key } });

  it('two requests with the same key sent together start one run, and both answer it', async () => {
    const [a, b] = await Promise.all([
      post('nightly-1', { date: D, targets: ['DailyVolume'] }),
      post('nightly-1', { date: D, targets: ['DailyVolume'] }),
    ]);
    expect([a.status, b.status]).toEqual([202, 202]);
    expect(b.body.runId).toBe(a.body.runId);
    expect(
      [a, b]
        .map((r) => r.headers.get('idempotent-replayed'))
        .sort((x, y) => (x ?? '').localeCompare(y ?? '')),
    ).toEqual([null, 'true']);
    expect(await requested(a.body.runId)).toBe(1);
    expect((await finished(call, a.body.runId)).status).toBe('completed');
    // a retry after it ran: the same run, nothing appended
    const size = (await api.engine.store.readAll()).length;
    const again = await post('nightly-1', { date: D, targets: ['DailyVolume'] });
    expect([again.status, again.body.runId]).toEqual([202, a.body.runId]);
    expect((await api.engine.store.readAll()).length).toBe(size);
  });

  it('the same key with another body is 422 naming the run and what differs; appends nothing', async () => {
    const first = await post('nightly-2', { date: D, targets: ['DailyVolume'] });
    await finished(call, first.body.runId);
    const size = (await api.engine.store.readAll()).length;
    const other = await call<{ message: string; details: unknown }>('POST', '/runs', {
      body: { date: D_1, targets: ['DailyVolume'] },
      headers: { 'idempotency-key': 'nightly-2' },
    });
    expect(other.status).toBe(422);
    expect(other.body.message).toBe(
      `Idempotency-Key "nightly-2" was first sent by ops with another request, which started run ${first.body.runId}: date was "${D}", now "${D_1}". Send a new key for a new run`,
    );
    expect(other.body.details).toEqual({ runId: first.body.runId, differences: ['date'] });
    expect((await api.engine.store.readAll()).length).toBe(size);
  });

  it('keys are per caller: another token with the same key starts its own run, and its retry answers that run', async () => {
    const mine = await post('shared-key', { date: D, targets: ['DailyVolume'] });
    const theirs = await post('shared-key', { date: D, targets: ['DailyVolume'] }, OPS2);
    expect(theirs.status).toBe(202);
    expect(theirs.body.runId).not.toBe(mine.body.runId);
    const retried = await post('shared-key', { date: D, targets: ['DailyVolume'] }, OPS2);
    expect(retried.body.runId).toBe(theirs.body.runId);
    await Promise.all([finished(call, mine.body.runId), finished(call, theirs.body.runId)]);
  });

  it('holds across a second api over the same log and across a restart', async () => {
    const first = await post('nightly-3', { date: D, targets: ['DailyVolume'] });
    await finished(call, first.body.runId);
    // a second replica: its own queries and views over the same log
    const replica = embeddedQueries(api.engine);
    try {
      const r = await replica.queries.requestRun(
        { date: D, targets: ['DailyVolume'], force: false, dryRun: false, requestedBy: 'ops' },
        'nightly-3',
      );
      expect(r).toEqual({ runId: first.body.runId, replayed: true });
    } finally {
      await replica.close();
    }
    await api.close();
    api = await serveEmbedded({ root: f.dir, config: f.config, port: 0, env: ENV });
    const size = (await api.engine.store.readAll()).length;
    const after = await post('nightly-3', { date: D, targets: ['DailyVolume'] });
    expect([after.status, after.body.runId]).toEqual([202, first.body.runId]);
    expect(after.headers.get('idempotent-replayed')).toBe('true');
    expect((await api.engine.store.readAll()).length).toBe(size);
  });

  it('a key that is empty or longer than 255 characters is 400', async () => {
    const size = (await api.engine.store.readAll()).length;
    for (const key of ['', 'k'.repeat(256)]) {
      const r = await post(key, { date: D });
      expect([key.length, r.status]).toEqual([key.length, 400]);
      expect(String((r.body as unknown as { message: string }).message)).toContain(
        'Idempotency-Key',
      );
    }
    expect((await api.engine.store.readAll()).length).toBe(size);
  });
});
