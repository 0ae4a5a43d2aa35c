import { serveEmbedded, type ServedApi } from '@almanac/embedded';
import { cli } from '../embedded/cli-harness';
import { D, Fixture, STANDARD_CONFIG } from '../embedded/fixture';

const OPERATOR = 'operator-token-0123456789';
const VIEWER = 'viewer-token-0123456789';
const ENV = { ALMANAC_API_TOKENS: `ops:operator:${OPERATOR},dash:viewer:${VIEWER}` };
const DAY_MS = 86_400_000;

// Given `almanac serve` with an operator and a viewer token and the standard computations run
// for D: POST /invalidations and POST /retention (ADR 0018).
describe('the api: invalidations and retention', () => {
  let f: Fixture;
  let api: ServedApi;

  async function call<T = Record<string, unknown>>(
    method: string,
    path: string,
    opts: { token?: string; body?: unknown } = {},
  ): Promise<{ status: number; body: T; headers: Headers }> {
    const res = await fetch(`${api.url}${path}`, {
      method,
      headers: {
        authorization: `Bearer ${opts.token ?? OPERATOR}`,
        ...(opts.body !== undefined ? { 'content-type': 'application/json' } : {}),
      },
      body: opts.body === undefined ? undefined : JSON.stringify(opts.body),
    });
    return { status: res.status, body: (await res.json()) as T, headers: res.headers };
  }

  async function run(body: Record<string, unknown>): Promise<Record<string, unknown>> {
    const r = await call<{ runId: string }>('POST', '/runs', { body });
    expect(r.status).toBe(202);
    for (let i = 0; i < 600; i++) {
      const v = await call('GET', `/runs/${r.body.runId}`);
      if (['completed', 'failed', 'rejected'].includes(String(v.body.status))) return v.body;
      await new Promise((res) => setTimeout(res, 100));
    }
    throw new Error('run did not finish');
  }

  const invalidations = async () =>
    (await api.engine.store.readAll()).filter((e) => e.type === 'ComputationsInvalidated').length;

  beforeAll(async () => {
    f = await Fixture.create({ config: STANDARD_CONFIG });
    f.writeConfigFile();
    f.loadNewCode();
    api = await serveEmbedded({ root: f.dir, config: f.config, port: 0, env: ENV });
    await run({ date: D });
  }, 120_000);

  afterAll(async () => {
    await api?.close();
    await f?.cleanup();
  });

  const body = { computations: ['OrderTotals'], from: D, to: D, reason: 'orders reloaded' };

  it('refuses a viewer (403), a bad body (400) and an unknown computation (404), appending nothing', async () => {
    const denied = await call('POST', '/invalidations', { token: VIEWER, body });
    expect(denied.status).toBe(403);
    const bad = await call<{ message: string; issues: Array<{ path: string }> }>(
      'POST',
      '/invalidations',
      { body: { ...body, from: '2026-13-01', reason: '' } },
    );
    expect(bad.status).toBe(400);
    expect(bad.body.message).toContain('from "2026-13-01" is not a calendar date');
    expect(bad.body.issues.map((i) => i.path)).toEqual(['from', 'reason']);
    const shape = await call('POST', '/invalidations', { body: { computations: 'OrderTotals' } });
    expect(shape.status).toBe(400);
    const unknown = await call<{ message: string }>('POST', '/invalidations', {
      body: { ...body, computations: ['Nope'] },
    });
    expect(unknown.status).toBe(404);
    expect(unknown.body.message).toContain('unknown computation "Nope"');
    expect(await invalidations()).toBe(0);
  });

  it('records an operator invalidation once, however often it is retried; the next run re-runs it', async () => {
    const first = await call<{ invalidationId: string; replayed: boolean; tainted: number }>(
      'POST',
      '/invalidations',
      { body },
    );
    expect(first.status).toBe(202);
    expect(first.body).toMatchObject({ replayed: false, tainted: 1 });
    const retry = await call('POST', '/invalidations', { body });
    expect(retry.status).toBe(202);
    expect(retry.body).toEqual({ ...first.body, replayed: true });
    expect(retry.headers.get('idempotent-replayed')).toBe('true');
    expect(await invalidations()).toBe(1);

    const audit = await call<{ valid: boolean; taint: { requestedBy: string } }>(
      'GET',
      `/audit/OrderTotals/${D}`,
    );
    expect(audit.body.valid).toBe(false);
    expect(audit.body.taint.requestedBy).toBe('ops');

    const after = (await run({ date: D })) as {
      computations: Record<string, { status: string; reason: unknown }>;
    };
    expect(after.computations.OrderTotals).toMatchObject({
      status: 'completed',
      reason: { code: 'changed', changed: ['tainted'] },
    });
    expect(after.computations.UserBand.status).toBe('skipped');
    const explain = await call<{ invalidations: Array<{ reason: string }> }>(
      'GET',
      `/explain/OrderTotals/${D}`,
    );
    expect(explain.body.invalidations.map((i) => i.reason)).toEqual(['orders reloaded']);
  });

  it('runs a retention sweep for an operator only; a dry run as of a later time says what it would remove', async () => {
    expect((await call('POST', '/retention', { token: VIEWER, body: {} })).status).toBe(403);
    const asOf = new Date(Date.now() + 400 * DAY_MS).toISOString();
    const dry = await call<{ dryRun: boolean; expired: Array<{ computation: string }> }>(
      'POST',
      '/retention',
      { body: { dryRun: true, asOf } },
    );
    expect(dry.status).toBe(200);
    expect(dry.body.dryRun).toBe(true);
    // default ttlDays 365: D is more than 365 days before asOf, for every computation
    expect(dry.body.expired.map((e) => e.computation).sort()).toEqual([
      'DailyVolume',
      'OrderTotals',
      'SignupInfo',
      'UserBand',
    ]);
    const now = await call<{ expired: unknown[] }>('POST', '/retention', { body: {} });
    expect(now.body.expired).toEqual([]);
    expect(
      (await api.engine.store.readAll()).filter((e) => e.type === 'ResultVersionsExpired'),
    ).toHaveLength(0);
  });

  it('the CLI goes through the server that holds the project for both commands', async () => {
    const inv = await cli([
      'invalidate',
      '-c',
      'DailyVolume',
      '--from',
      D,
      '--reason',
      'through the server',
      '--project',
      f.dir,
      '--json',
    ]);
    expect(inv.code).toBe(0);
    // requested by the token's principal: the request went through the api
    expect(JSON.parse(inv.stdout)).toMatchObject({ replayed: false, tainted: 1 });
    const [event] = (await api.engine.store.readAll()).filter(
      (e) => e.type === 'ComputationsInvalidated' && e.payload.reason === 'through the server',
    );
    expect(event?.type === 'ComputationsInvalidated' && event.payload.requestedBy).toBe('cli');
    const bad = await cli(['invalidate', '-c', 'DailyVolume', '--from', D, '--project', f.dir]);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain('a reason is required');
    const ret = await cli(['retention', '--dry-run', '--project', f.dir, '--json']);
    expect(ret.code).toBe(0);
    expect(JSON.parse(ret.stdout)).toMatchObject({ dryRun: true, expired: [] });
  });
});
