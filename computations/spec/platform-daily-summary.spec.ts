import { PlatformDailySummary } from '../platform-daily-summary';
import { fakeContext, reversed } from './fake-context';

const D = '2026-01-15';
const users = [
  { user_id: 'u7', signup_date: D, country: 'US', tier: 'pro' },
  { user_id: 'u8', signup_date: D, country: 'DE', tier: 'basic' },
  { user_id: 'u9', signup_date: D, country: 'US', tier: 'basic' },
];
const order = (
  order_id: string,
  user_id: string,
  symbol: string,
  side: string,
  quantity: number,
  price: number,
) => ({
  order_id,
  user_id,
  order_date: D,
  symbol,
  side,
  quantity,
  price,
});
const orders = [
  order('o1', 'u1', 'AAPL', 'buy', 10, 100), // 1000
  order('o2', 'u1', 'MSFT', 'sell', 2, 250), // 500
  order('o3', 'u2', 'KO', 'buy', 20, 25), // 500
  order('o4', 'u3', 'TSLA', 'buy', 1, 0.1), // 0.1
  order('o5', 'u3', 'AAPL', 'sell', 1, 0.2), // 0.2
];
const market = { advancers: 12, decliners: 8, bigMoves: ['TSLA'], symbols: {} };

describe('PlatformDailySummary', () => {
  it("reports the day's signups, orders and market breadth", async () => {
    const expected = {
      newUsers: 3,
      newUsersByTier: { basic: 2, pro: 1 },
      orderCount: 5,
      traders: 3,
      buyNotional: 1500.1,
      sellNotional: 500.2,
      // AAPL 1000.2; KO and MSFT tie at 500 and are ordered by symbol
      topSymbols: [
        { symbol: 'AAPL', notional: 1000.2 },
        { symbol: 'KO', notional: 500 },
        { symbol: 'MSFT', notional: 500 },
      ],
      market: { advancers: 12, decliners: 8, bigMoves: ['TSLA'] },
    };
    const ctx = (o: typeof orders) =>
      fakeContext({
        date: D,
        data: { users, orders: o },
        dependencies: { MarketStats: { _global: market } },
      });
    expect(await new PlatformDailySummary().process(ctx(orders))).toEqual(expected);
    expect(JSON.stringify(await new PlatformDailySummary().process(ctx(reversed(orders))))).toBe(
      JSON.stringify(expected),
    );
  });

  it('reports zeros and no market on a quiet day', async () => {
    expect(
      await new PlatformDailySummary().process(
        fakeContext({ date: D, data: { users: [], orders: [] } }),
      ),
    ).toEqual({
      newUsers: 0,
      newUsersByTier: {},
      orderCount: 0,
      traders: 0,
      buyNotional: 0,
      sellNotional: 0,
      topSymbols: [],
      market: null,
    });
  });
});
