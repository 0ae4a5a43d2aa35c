import { backfillIds, type Envelope } from '@almanac/contracts';
import { createInProcessBus, type InProcessBus } from '@almanac/messaging';
import {
  backfillRequestedEvent,
  InvalidBackfillRequestError,
  validateBackfillRequest,
} from '@almanac/platform';
import { computation, Fixture } from './fixture';

const DATES = Array.from({ length: 10 }, (_, i) => `2026-01-${String(i + 1).padStart(2, '0')}`);
const FROM = DATES[0];
const TO = DATES[9];

/** Historical: each date's cumulative total of a user's orders, from the previous date's. */
const RUNNING_TOTAL = computation({
  className: 'RunningTotal',
  config: {
    name: 'RunningTotal',
    type: 'per-entity',
    isHistorical: true,
    requires: { orders: { lookback: 0 } },
  },
  body: `    const prev = ctx.previousResult as { cum: number; days: number } | null;
    const today = ctx.data.orders.reduce((s, r) => s + Number(r.amount), 0);
    return { cum: (prev?.cum ?? 0) + today, days: (prev?.days ?? 0) + 1 };`,
});
/** Not historical: the volume of a date; fails on 2026-01-05 when FAIL_ON is set in the file. */
const VOLUME = computation({
  className: 'Volume',
  config: { name: 'Volume', type: 'global', requires: { orders: { lookback: 0 } } },
  body: `    const FAIL_ON = '';
    if (ctx.date === FAIL_ON) throw new Error('no volume on ' + ctx.date);
    return { volume: ctx.data.orders.reduce((s, r) => s + Number(r.amount), 0) };`,
});

/** u1 orders 1 on each of the ten dates, u2 orders 2 on the even days. */
const DATA = [
  `CREATE TABLE users (user_id VARCHAR, signup_date DATE)`,
  `INSERT INTO users VALUES ('u1','2025-12-01'),('u2','2025-12-01')`,
  `CREATE TABLE orders (order_id INTEGER, user_id VARCHAR, order_date DATE, amount DOUBLE)`,
  `INSERT INTO orders VALUES ${DATES.flatMap((d, i) => [
    `(${i * 2 + 1},'u1','${d}',1)`,
    ...(i % 2 ? [`(${i * 2 + 2},'u2','${d}',2)`] : []),
  ]).join(',')}`,
];

/** An in-process bus that hands every message to its handler twice (at-least-once at its worst). */
function duplicatingBus(): InProcessBus {
  const bus = createInProcessBus();
  return {
    ...bus,
    subscribe: (topic, subscription, handler, opts) =>
      bus.subscribe(
        topic,
        subscription,
        async (m) => {
          await handler(m);
          await handler(m);
        },
        opts,
      ),
    close: () => bus.close(),
    idle: () => bus.idle(),
    publish: (topic, messages) => bus.publish(topic, messages),
  };
}

const ofBackfill = (backfillId: string) => (e: Envelope) =>
  backfillIds.ofRun(e.correlationId)?.backfillId === backfillId;

describe('embedded engine: backfill', () => {
  let f: Fixture;
  beforeEach(async () => {
    f = await Fixture.create({
      files: { 'running-total.ts': RUNNING_TOTAL, 'volume.ts': VOLUME },
      data: DATA,
    });
  });
  afterEach(async () => {
    await f.cleanup();
  });

  async function backfill(
    request: Parameters<Awaited<ReturnType<Fixture['open']>>['backfill']>[0],
    bus?: InProcessBus,
  ) {
    const engine = await f.open(f.config, { backfills: true, bus });
    try {
      const view = await engine.backfill(request);
      const log = (await engine.store.readAll()).filter(ofBackfill(view.backfillId));
      return { view, log, engine };
    } finally {
      await f.close();
    }
  }

  it('given a historical computation over 10 dates, requests each date only after the previous date completed it', async () => {
    const { view, log } = await backfill({ from: FROM, to: TO, concurrency: 4 });
    expect(view).toMatchObject({
      status: 'completed',
      total: 10,
      historical: ['RunningTotal'],
      counts: { requested: 10, completed: 10, skipped: 0, failed: 0 },
    });
    const at = (pred: (e: Envelope) => boolean) => log.findIndex(pred);
    const requestedAt = (d: string) => at((e) => e.type === 'RunRequested' && e.payload.date === d);
    const completedAt = (d: string) =>
      at(
        (e) =>
          e.type === 'ComputationCompleted' &&
          e.payload.date === d &&
          e.payload.computation === 'RunningTotal',
      );
    expect(log.filter((e) => e.type === 'RunRequested').map((e) => e.payload)).toHaveLength(10);
    for (let i = 1; i < DATES.length; i++) {
      expect(requestedAt(DATES[i])).toBeGreaterThan(completedAt(DATES[i - 1]));
      expect(completedAt(DATES[i - 1])).toBeGreaterThan(-1);
    }
    // each date read the previous date's result: the running totals are whole
    const last = await f.results('RunningTotal', TO, ['u1', 'u2']);
    expect(last).toEqual({ u1: { cum: 10, days: 10 }, u2: { cum: 10, days: 10 } });
  });

  it('never has more than `concurrency` runs open, as the log shows, and uses them all', async () => {
    const { view, log } = await backfill({
      from: FROM,
      to: TO,
      targets: ['Volume'],
      concurrency: 3,
    });
    expect(view.historical).toEqual([]);
    expect(view.counts).toEqual({ requested: 10, completed: 10, skipped: 0, failed: 0 });
    let open = 0;
    let most = 0;
    for (const e of log) {
      if (e.type === 'RunRequested') most = Math.max(most, ++open);
      if (e.type === 'RunCompleted' || e.type === 'RunRejected') open--;
    }
    expect(open).toBe(0);
    expect(most).toBe(3);
  });

  it('a second backfill over the same range skips every computation of every date', async () => {
    await backfill({ from: FROM, to: TO });
    const { view, log } = await backfill({ from: FROM, to: TO });
    expect(view).toMatchObject({
      status: 'completed',
      counts: { requested: 10, completed: 0, skipped: 10, failed: 0 },
    });
    const decisions = log.filter((e) => e.type === 'ComputationCompleted');
    expect(decisions).toHaveLength(20);
    expect(new Set(decisions.map((e) => e.payload.status))).toEqual(new Set(['skipped']));
  });

  it('with every message delivered twice, requests each date once', async () => {
    const { view, log } = await backfill({ from: FROM, to: TO, concurrency: 2 }, duplicatingBus());
    expect(view.counts).toEqual({ requested: 10, completed: 10, skipped: 0, failed: 0 });
    const requested = log.filter((e) => e.type === 'RunRequested').map((e) => e.payload.date);
    expect(requested).toEqual(DATES);
  });

  it('a failed date fails the backfill, and the other dates still run', async () => {
    f.edit('volume.ts', "const FAIL_ON = '';", "const FAIL_ON = '2026-01-05';");
    const { view } = await backfill({ from: FROM, to: TO, targets: ['Volume'], concurrency: 2 });
    expect(view).toMatchObject({
      status: 'failed',
      counts: { requested: 10, completed: 9, skipped: 0, failed: 1 },
    });
    expect(view.dates['2026-01-05'].status).toBe('failed');
    expect(view.dates['2026-01-06'].status).toBe('completed');
  });

  it('a backfill left by a dead process goes on at the next start of a process that hosts backfills, and only there', async () => {
    // given a backfill in the log that nobody followed (its process died before requesting a run)
    const id = 'bf-20261201T000000Z-0dead0';
    const plain = await f.open();
    const valid = validateBackfillRequest(
      { from: FROM, to: DATES[2], targets: ['Volume'] },
      plain.project,
      plain.config,
      new Date(),
    );
    await plain.publisher.publish([backfillRequestedEvent(id, new Date(), valid, 'test')]);
    // an engine without backfills (almanac status, run...) requests nothing for it
    expect((await plain.store.readAll()).map((e) => e.type)).toEqual(['BackfillRequested']);
    await f.close();
    // when an engine hosting backfills starts, then the backfill goes on to its end
    const engine = await f.open(f.config, { backfills: true });
    try {
      let view = await engine.backfillView(id);
      for (let i = 0; i < 600 && view.status === 'running'; i++) {
        await new Promise((r) => setTimeout(r, 50));
        view = await engine.backfillView(id);
      }
      expect(view).toMatchObject({
        status: 'completed',
        counts: { requested: 3, completed: 3, skipped: 0, failed: 0 },
      });
    } finally {
      await f.close();
    }
  });

  it('a bad request appends nothing and names what is wrong', async () => {
    const engine = await f.open(f.config, { backfills: true });
    try {
      const cases: Array<[Parameters<typeof engine.backfill>[0], RegExp]> = [
        [{ from: TO, to: FROM }, /from "2026-01-10" is after to "2026-01-01"/],
        [{ from: '2000-01-01', to: '2026-01-01' }, /is 9498 dates; a backfill takes at most 3660/],
        [{ from: FROM, to: '2026-02-30' }, /to: date "2026-02-30" is not a calendar date/],
        [
          { from: FROM, to: TO, targets: ['Volum'] },
          /unknown computation "Volum" \(did you mean "Volume"\?\)/,
        ],
        [{ from: FROM, to: TO, concurrency: 0 }, /concurrency 0 must be an integer from 1 to 64/],
        [{ from: '1969-12-31', to: FROM }, /from: date "1969-12-31" is outside the accepted range/],
      ];
      for (const [request, message] of cases) {
        const error = await engine.backfill(request).catch((e: unknown) => e);
        expect(error).toBeInstanceOf(InvalidBackfillRequestError);
        expect((error as Error).message).toMatch(message);
      }
      expect(await engine.store.readAll()).toEqual([]);
    } finally {
      await f.close();
    }
  });
});
