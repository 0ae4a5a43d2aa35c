import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { DuckDBInstance, type DuckDBConnection } from '@duckdb/node-api';
import type { Row } from '@almanac/kernel';
import { MarketStats, type MarketStatsResult } from '../market-stats';
import { generateSampleData } from '../sample-data/generate';
import { UserDailyActive } from '../user-daily-active';
import { UserOrderStats } from '../user-order-stats';
import { UserPortfolioSummary } from '../user-portfolio-summary';
import { UserRiskScore, type UserRiskScoreResult } from '../user-risk-score';
import { fakeContext } from './fake-context';

// The computations over generated rows, wired by hand pass by pass: proves they accept the
// warehouse's value shapes (dates as 'YYYY-MM-DD', BIGINT as strings) and produce results.
describe('the example computations over generated sample data', () => {
  let dir: string;
  let instance: DuckDBInstance;
  let db: DuckDBConnection;

  beforeAll(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'almanac-sample-run-'));
    const file = path.join(dir, 'sample.duckdb');
    await generateSampleData({ path: file, users: 300, days: 10, endDate: '2026-01-15', seed: 3 });
    instance = await DuckDBInstance.create(file, { access_mode: 'READ_ONLY' });
    db = await instance.connect();
  });
  afterAll(() => {
    db.closeSync();
    instance.closeSync();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  const rows = async (sql: string) => (await db.runAndReadAll(sql)).getRowObjectsJson() as Row[];
  const byUser = (list: Row[]) => {
    const m = new Map<string, Row[]>();
    for (const r of list) m.set(String(r.user_id), [...(m.get(String(r.user_id)) ?? []), r]);
    return m;
  };

  async function runDay(date: string, previous: Map<string, UserRiskScoreResult>) {
    const prices = await rows(
      `SELECT * FROM prices WHERE price_date BETWEEN DATE '${date}' - 1 AND DATE '${date}'`,
    );
    const market = (await new MarketStats().process(fakeContext({ date, data: { prices } })))!;
    const orders = byUser(
      await rows(
        `SELECT * FROM orders WHERE order_date BETWEEN DATE '${date}' - 7 AND DATE '${date}'`,
      ),
    );
    const logins = byUser(await rows(`SELECT * FROM logins WHERE login_date = DATE '${date}'`));
    const users = (
      await rows(`SELECT user_id FROM users WHERE signup_date <= DATE '${date}' ORDER BY user_id`)
    ).map((r) => String(r.user_id));
    const results = {
      stats: 0,
      active: 0,
      portfolio: 0,
      risk: new Map<string, UserRiskScoreResult>(),
    };
    for (const u of users) {
      const ctx = (extra: Parameters<typeof fakeContext>[0]) =>
        fakeContext({ ...extra, date, entityId: u });
      const stats = await new UserOrderStats().process(
        ctx({ date, data: { orders: orders.get(u) ?? [] } }),
      );
      const active = await new UserDailyActive().process(
        ctx({ date, data: { logins: logins.get(u) ?? [] } }),
      );
      const dependencies = {
        UserOrderStats: { [u]: stats },
        UserDailyActive: { [u]: active },
        MarketStats: { _global: market },
      };
      const portfolio = await new UserPortfolioSummary().process(ctx({ date, dependencies }));
      const risk = await new UserRiskScore().process(
        ctx({
          date,
          previousResult: previous.get(u) ?? null,
          dependencies: { UserPortfolioSummary: { [u]: portfolio } },
        }),
      );
      if (stats) results.stats++;
      if (active) results.active++;
      if (portfolio) {
        results.portfolio++;
        expect(portfolio.unpriced).toEqual([]);
      }
      if (risk) results.risk.set(u, risk);
    }
    return { market, orders, logins, results };
  }

  it('produces a result for exactly the entities that have data, and smooths risk day over day', async () => {
    const day1 = await runDay('2026-01-14', new Map());
    const day2 = await runDay('2026-01-15', day1.results.risk);

    const market: MarketStatsResult = day2.market;
    expect(market.symbolCount).toBe(20);
    expect(
      Object.values(market.symbols).every(
        (s) => s.prevClose !== null && typeof s.volume === 'number',
      ),
    ).toBe(true);
    expect(market.advancers + market.decliners + market.unchanged).toBe(20);

    expect(day2.results.stats).toBe(day2.orders.size);
    expect(day2.results.portfolio).toBe(day2.orders.size);
    expect(day2.results.active).toBe(day2.logins.size);
    expect(day2.results.risk.size).toBe(day2.orders.size);
    expect(day2.orders.size).toBeGreaterThan(100);

    const smoothed = [...day2.results.risk].filter(([, r]) => r.smoothed).map(([u]) => u);
    const both = [...day2.results.risk.keys()].filter((u) => day1.results.risk.has(u));
    expect(smoothed).toEqual(both);
    expect(both.length).toBeGreaterThan(50);
  });
});
