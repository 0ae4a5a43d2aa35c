import { serveEmbedded, type ServedApi } from '@almanac/embedded';
import { parseProjectConfig, RetentionSweep, type ProjectConfigInput } from '@almanac/platform';
import type { ResultStore } from '@almanac/warehouse';
import { waitFor } from './cli-harness';
import { D, Fixture, STANDARD_CONFIG } from './fixture';

const DAY_MS = 86_400_000;
const HOUR_MS = 3_600_000;
const LATER = '2026-01-20';

// Given OrderTotals with a ttlDays that expires D (2026-01-10) at the scheduler's clock, two days
// from now (past the one-day in-use window of the versions this test writes), and `almanac serve`
// whose timer ticks every 20 ms: the timer sweeps on its own, at most once per
// scheduler.retentionIntervalMs of that clock (ADR 0018). No schedule is enabled, so the ticks
// request no run.
describe('almanac serve: the scheduler timer runs retention', () => {
  let f: Fixture;
  let served: ServedApi | null = null;
  let now = Date.now() + 2 * DAY_MS;
  let clockReads = 0;
  const clock = () => {
    clockReads++;
    return new Date(now);
  };
  const today = new Date(now).toISOString().slice(0, 10);
  const ttlDays = Math.round((Date.parse(today) - Date.parse('2026-01-15')) / DAY_MS);
  const input = (retentionIntervalMs: number | null): ProjectConfigInput => ({
    ...STANDARD_CONFIG,
    scheduler: { schedule: { enabled: false }, retentionIntervalMs },
  });

  beforeEach(async () => {
    now = Date.now() + 2 * DAY_MS;
    f = await Fixture.create();
    f.edit(
      'order-totals.ts',
      '"name":"OrderTotals",',
      `"name":"OrderTotals","ttlDays":${ttlDays},`,
    );
    await f.run({ date: D });
    await f.run({ date: LATER });
    f.loadNewCode();
  });
  afterEach(async () => {
    await served?.close();
    served = null;
    await f.cleanup();
  });

  /** counts the sweeps (each lists OrderTotals' dates once); `deleteFails` deletes fail first */
  function serve(retentionIntervalMs: number | null, deleteFails = 0) {
    const sweeps = { count: 0 };
    const lines: string[] = [];
    const wrapResults = (store: ResultStore): ResultStore => ({
      ...store,
      datesBefore: (computation, before) => {
        if (computation === 'OrderTotals') sweeps.count++;
        return store.datesBefore(computation, before);
      },
      deleteVersions: (computation, date, versions) =>
        deleteFails-- > 0
          ? Promise.reject(new Error('disk full'))
          : store.deleteVersions(computation, date, versions),
    });
    return serveEmbedded({
      root: f.dir,
      config: parseProjectConfig(input(retentionIntervalMs)),
      port: 0,
      tickIntervalMs: 20,
      schedulerClock: clock,
      schedulerLog: (line) => lines.push(line),
      engine: { wrapResults },
    }).then((s) => {
      served = s;
      return { s, sweeps, lines };
    });
  }
  const expiries = async (s: ServedApi) =>
    (await s.engine.store.readAll()).filter((e) => e.type === 'ResultVersionsExpired');
  const versionsOf = async (s: ServedApi, date: string) =>
    (await s.engine.results.versions('OrderTotals', date)).map((v) => v.version);
  /** waits until the timer has ticked `n` more times (each tick reads the clock) */
  const ticks = (n: number) => {
    const until = clockReads + n;
    return waitFor(
      () => `${n} ticks`,
      30_000,
      () => clockReads >= until,
    );
  };

  it('given results older than ttlDays, when serve runs with no command, then the timer records the expiry and removes the rows, once per interval', async () => {
    const { s, sweeps, lines } = await serve(HOUR_MS);
    const [expired] = await waitFor(
      () => 'a ResultVersionsExpired',
      30_000,
      async () => {
        const e = await expiries(s);
        return e.length ? e : null;
      },
    );
    expect(expired.producer).toBe('scheduler');
    expect(expired.payload).toMatchObject({ computation: 'OrderTotals', date: D, ttlDays });
    await waitFor(
      () => `the rows of ${D} removed`,
      30_000,
      async () => (await versionsOf(s, D)).length === 0,
    );
    expect(await versionsOf(s, LATER)).toHaveLength(1);
    // the line is written when the sweep returns, after its last delete
    const line = `retention expired OrderTotals ${D}: 1 version(s)`;
    await waitFor(
      () => `the line "${line}" (got ${JSON.stringify(lines)})`,
      30_000,
      () => lines.includes(line),
    );

    // ticks within the interval do not sweep again
    await ticks(5);
    expect(sweeps.count).toBe(1);
    // an interval later (by the scheduler's clock), the next tick sweeps: nothing new to record
    now += HOUR_MS;
    await waitFor(
      () => 'a second sweep',
      30_000,
      () => sweeps.count === 2,
    );
    await ticks(2);
    expect(await expiries(s)).toHaveLength(1);
  });

  it('given a sweep that fails, then it is logged, the timer goes on ticking, and the next due sweep deletes what the log recorded', async () => {
    const { s, sweeps, lines } = await serve(HOUR_MS, 1);
    await waitFor(
      () => 'the failed sweep logged',
      30_000,
      () => lines.includes('retention sweep failed: disk full'),
    );
    expect(await expiries(s)).toHaveLength(1);
    expect(await versionsOf(s, D)).toHaveLength(1);
    await ticks(3);
    expect(sweeps.count).toBe(1);

    now += HOUR_MS;
    await waitFor(
      () => `the rows of ${D} removed`,
      30_000,
      async () => (await versionsOf(s, D)).length === 0,
    );
    expect(await expiries(s)).toHaveLength(1);
  });

  it('given two scheduler replicas sweeping at once, then each expiry is appended once and the rows are removed', async () => {
    const { s } = await serve(null);
    const replica = () =>
      new RetentionSweep({
        log: s.engine.store,
        publisher: s.engine.publisher,
        results: s.engine.results,
        project: s.engine.project,
        producer: 'scheduler',
      });
    const [one, two] = await Promise.all([
      replica().sweep({ now: new Date(now) }),
      replica().sweep({ now: new Date(now) }),
    ]);
    // both decided the same expiry; the log holds it once
    expect([one.expired, two.expired].map((e) => e.map((x) => x.date))).toEqual([[D], [D]]);
    expect(await expiries(s)).toHaveLength(1);
    expect(await versionsOf(s, D)).toEqual([]);
  });

  it.each([0, null])(
    'given retentionIntervalMs %p, then the timer ticks and never sweeps',
    async (interval) => {
      const { s, sweeps } = await serve(interval);
      await ticks(5);
      expect(sweeps.count).toBe(0);
      expect(await expiries(s)).toHaveLength(0);
      expect(await versionsOf(s, D)).toHaveLength(1);
    },
  );
});
