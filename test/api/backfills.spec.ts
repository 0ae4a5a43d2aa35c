import { serveEmbedded, type ServedApi } from '@almanac/embedded';
import { D, D_1, Fixture, STANDARD_CONFIG } from '../embedded/fixture';

const OPERATOR = 'operator-token-0123456789';
const VIEWER = 'viewer-token-0123456789';
const ENV = { ALMANAC_API_TOKENS: `ops:operator:${OPERATOR},dash:viewer:${VIEWER}` };

interface Answer {
  status: number;
  body: Record<string, unknown> & { message?: string };
}

describe('POST /backfills, GET /backfills[/:id] (embedded profile, `almanac serve`)', () => {
  let f: Fixture;
  let api: ServedApi;

  async function call(method: string, path: string, body?: unknown, token = OPERATOR) {
    const res = await fetch(`${api.url}${path}`, {
      method,
      headers: {
        authorization: `Bearer ${token}`,
        ...(body !== undefined ? { 'content-type': 'application/json' } : {}),
      },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    return { status: res.status, body: (await res.json()) as Answer['body'] };
  }
  const logSize = async () => (await api.engine.store.readAll()).length;

  beforeAll(async () => {
    f = await Fixture.create({ config: STANDARD_CONFIG });
    f.loadNewCode();
    api = await serveEmbedded({ root: f.dir, config: f.config, port: 0, env: ENV });
  }, 60_000);
  afterAll(async () => {
    await api?.close();
    await f?.cleanup();
  });

  it('given an operator, requests a backfill that runs every date; its progress is served until it ends', async () => {
    const posted = await call('POST', '/backfills', { from: D_1, to: D, concurrency: 1 });
    expect(posted.status).toBe(202);
    const id = String(posted.body.backfillId);
    expect(id).toMatch(/^bf-/);
    let view: Answer['body'] = {};
    for (let i = 0; i < 600 && view.status !== 'completed' && view.status !== 'failed'; i++) {
      await new Promise((r) => setTimeout(r, 50));
      view = (await call('GET', `/backfills/${id}`, undefined, VIEWER)).body;
    }
    expect(view).toMatchObject({
      backfillId: id,
      from: D_1,
      to: D,
      status: 'completed',
      requestedBy: 'ops',
      counts: { requested: 2, completed: 2, skipped: 0, failed: 0 },
      dates: {
        [D_1]: { status: 'completed', runId: `${id}-${D_1}` },
        [D]: { status: 'completed', runId: `${id}-${D}` },
      },
    });
    const run = await call('GET', `/runs/${id}-${D}`, undefined, VIEWER);
    expect(run.body).toMatchObject({ status: 'completed', date: D });

    const list = await call('GET', '/backfills', undefined, VIEWER);
    expect(list.status).toBe(200);
    const listed = list.body.backfills as Array<Record<string, unknown>>;
    expect(listed.map((b) => b.backfillId)).toContain(id);
    expect(listed.find((b) => b.backfillId === id)).not.toHaveProperty('dates');
  });

  it('answers 404 for an unknown backfill', async () => {
    const r = await call('GET', '/backfills/bf-nope-00');
    expect(r.status).toBe(404);
    expect(r.body.message).toBe('unknown backfill "bf-nope-00"');
  });

  it('refuses bad requests before appending anything: 400 naming the field, 404 for an unknown computation only', async () => {
    const before = await logSize();
    const cases: Array<[unknown, number, RegExp]> = [
      [{ from: D, to: D_1 }, 400, /from "2026-01-10" is after to "2026-01-09"/],
      [{ from: '2000-01-01', to: D }, 400, /a backfill takes at most 3660/],
      [{ from: D_1, to: '2026-01-32' }, 400, /to: date "2026-01-32" is not a calendar date/],
      [
        { from: D_1, to: D, concurrency: 500 },
        400,
        /concurrency 500 must be an integer from 1 to 64/,
      ],
      [{ from: D_1, to: D, targets: ['OrderTotal'] }, 404, /unknown computation "OrderTotal"/],
      [{ from: D_1 }, 400, /invalid backfill request: to:/],
      [{ from: D_1, to: D, extra: 1 }, 400, /invalid backfill request/],
    ];
    for (const [body, status, message] of cases) {
      const r = await call('POST', '/backfills', body);
      expect([r.status, r.body.message]).toEqual([status, expect.stringMatching(message)]);
    }
    expect(await logSize()).toBe(before);
  });

  it('needs the operator role, as POST /runs does', async () => {
    const before = await logSize();
    const r = await call('POST', '/backfills', { from: D_1, to: D }, VIEWER);
    expect(r.status).toBe(403);
    expect(await logSize()).toBe(before);
  });
});
