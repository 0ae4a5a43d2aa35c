import { UserPortfolioSummary } from '../user-portfolio-summary';
import { fakeContext } from './fake-context';

const D = '2026-01-15';
const stats = {
  orderCount: 4,
  ordersToday: 1,
  buyCount: 3,
  sellCount: 1,
  notional: 2500,
  notionalToday: 300,
  lastOrderDate: D,
  positions: {
    AAPL: { quantity: 6, netCost: 560 },
    KO: { quantity: 3, netCost: 150.3 },
    TSLA: { quantity: -2, netCost: -500 },
  },
};
const symbol = (close: number) => ({
  close,
  volume: 1,
  prevClose: null,
  change: null,
  changePct: null,
  bigMove: false,
});
const market = {
  symbolCount: 2,
  advancers: 0,
  decliners: 0,
  unchanged: 0,
  bigMoves: [],
  avgChangePct: null,
  symbols: { AAPL: symbol(106), TSLA: symbol(240) },
};
const active = { logins: 2, devices: ['web'], firstLoginAt: 'a', lastLoginAt: 'b' };

const run = (dependencies: Record<string, Record<string, unknown>>) =>
  new UserPortfolioSummary().process(fakeContext({ date: D, entityId: 'u1', dependencies }));

describe('UserPortfolioSummary', () => {
  it("values the user's positions at the day's closes, using all three dependencies", async () => {
    const r = await run({
      UserOrderStats: { u1: stats },
      MarketStats: { _global: market },
      UserDailyActive: { u1: active },
    });
    expect(r).toEqual({
      holdings: {
        AAPL: { quantity: 6, close: 106, value: 636 },
        TSLA: { quantity: -2, close: 240, value: -480 },
      },
      positionCount: 3,
      marketValue: 156,
      grossExposure: 1116,
      unrealizedPnl: 96, // 156 - (560 - 500): KO has no close, so its cost is left out too
      largestPositionShare: 0.569892, // 636 / 1116
      shortShare: 0.430108, // 480 / 1116
      unpriced: ['KO'],
      notional7d: 2500,
      ordersToday: 1,
      activeToday: true,
      logins: 2,
    });
  });

  it('reads the dependencies of its own entity only', async () => {
    const r = await run({
      UserOrderStats: { u1: stats },
      MarketStats: { _global: market },
      UserDailyActive: { u2: active },
    });
    expect(r).toMatchObject({ activeToday: false, logins: 0 });
  });

  it('leaves every holding unpriced when MarketStats has no result', async () => {
    const stderr = jest.spyOn(process.stderr, 'write').mockImplementation(() => true);
    try {
      const r = await run({ UserOrderStats: { u1: stats } });
      expect(r).toMatchObject({
        holdings: {},
        marketValue: 0,
        grossExposure: 0,
        unrealizedPnl: 0,
        largestPositionShare: 0,
        unpriced: ['AAPL', 'KO', 'TSLA'],
      });
      expect(stderr).toHaveBeenCalledWith(
        '[UserPortfolioSummary] no MarketStats for 2026-01-15: every holding is unpriced\n',
      );
    } finally {
      stderr.mockRestore();
    }
  });

  it('returns null when the user has no UserOrderStats result', async () => {
    expect(
      await run({ MarketStats: { _global: market }, UserDailyActive: { u1: active } }),
    ).toBeNull();
  });
});
